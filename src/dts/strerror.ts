/** C's strerror() wording, which dtc's messages carry, for Node's system errors. */

/** dtc's strerror() text for the errno codes a file operation commonly fails with. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EEXIST: 'File exists',
  EPERM: 'Operation not permitted',
};

/** What C's strerror says for a Node system error. */
export function strerror(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return (err.code && STRERROR[err.code]) ?? err.message.split(', ')[0];
}
