/** The confirmation dialog before a destination is deleted. */
import { h, say } from '../dom';

let dialog: { el: HTMLDialogElement; text: HTMLElement; cancel: HTMLButtonElement } | null = null;

/** A <dialog> asking to confirm; resolves true when confirmed. Focus returns to the opener. */
export function confirmDelete(message: string, opener: HTMLElement | null): Promise<boolean> {
  if (!dialog) {
    const text = h('p', { id: 'confirm-text' });
    const cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, ['Cancel']);
    const ok = h('button', { type: 'button', class: 'danger', value: 'delete' }, ['Delete']);
    const el = h('dialog', { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' }, [
      h('h2', { id: 'confirm-title', text: 'Delete streaming destination?' }),
      text,
      h('div', { class: 'actions' }, [cancel, ok]),
    ]);
    cancel.addEventListener('click', () => el.close('cancel'));
    ok.addEventListener('click', () => el.close('delete'));
    document.body.appendChild(el);
    dialog = { el, text, cancel };
  }
  const { el, text, cancel } = dialog;
  return new Promise((resolve) => {
    say(text, message);
    el.returnValue = 'cancel';
    el.addEventListener(
      'close',
      () => {
        if (opener && opener.isConnected) opener.focus();
        resolve(el.returnValue === 'delete');
      },
      { once: true },
    );
    el.showModal();
    cancel.focus();
  });
}
