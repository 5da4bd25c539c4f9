/**
 * GitLab's path rules for usernames, groups and projects (Gitlab::PathRegex): letters, digits,
 * '_', '-', '.'; starts with a letter, digit or '_'; does not end in '.git' or '.atom'; no
 * consecutive special characters; not a reserved top-level route.
 */
export const PATH_MAX = 255;

const PATH_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_\-.]*$/;
const RESERVED_TOP_LEVEL = new Set([
  '-', '.well-known', 'admin', 'api', 'assets', 'dashboard', 'explore', 'groups', 'help', 'login', 'oauth',
  'profile', 'projects', 'public', 'robots.txt', 'search', 'sitemap', 'uploads', 'users', 'v2',
]);

/** The reason a path is invalid, in GitLab's words, or null when it is valid. */
export function pathError(path: string, topLevel: boolean): string | null {
  if (path.length === 0) return "can't be blank";
  if (path.length > PATH_MAX) return `is too long (maximum is ${PATH_MAX} characters)`;
  if (
    !PATH_RE.test(path) ||
    /[._-]{2,}/.test(path) ||
    /[._-]$/.test(path) ||
    /\.(git|atom)$/i.test(path)
  ) {
    return "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'";
  }
  if (topLevel && RESERVED_TOP_LEVEL.has(path.toLowerCase())) return `${path} is a reserved name`;
  return null;
}

/** GitLab's name rule for groups and projects: letters, digits, emoji, '_', '.', '-', '+', spaces, parentheses. */
export function nameError(name: string): string | null {
  if (name.trim().length === 0) return "can't be blank";
  if ([...name].length > PATH_MAX) return `is too long (maximum is ${PATH_MAX} characters)`;
  if (!/^[\p{L}\p{N}\p{Emoji_Presentation}_][\p{L}\p{N}\p{Emoji_Presentation}_.+\- ()]*$/u.test(name)) {
    return "can contain only letters, digits, emoji, '_', '.', '+', dashes, spaces, and parentheses. It must start with a letter, digit, emoji, or '_'.";
  }
  return null;
}

/** A simple email check (GitLab's Devise.email_regexp: something@something). */
export function emailValid(email: string): boolean {
  return email.length <= 255 && /^[^@\s]+@[^@\s]+$/.test(email);
}
