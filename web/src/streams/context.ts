/** What the parts of the Streams tab share: whose destinations, the operations, and the list's controls. */
import type { StreamsConfig } from './config';

export interface StreamsContext {
  scope: { kind: 'group'; path: string } | { kind: 'instance' };
  cfg: StreamsConfig;
  /** Reload the destination list. */
  reload: () => Promise<void>;
  listStatus: HTMLElement;
  addBtn: HTMLButtonElement;
  formHost: HTMLElement;
}
