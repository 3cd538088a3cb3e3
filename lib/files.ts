// File access for parameter files and the training job's outputs. A write replaces its target
// atomically (a crash, a kill or a full disk mid-write leaves the old file whole, and a reader
// sees the old file or the new one, never a partial one); a read accepts only regular files, so
// that a FIFO, /dev/zero or a terminal cannot hang the caller or fill its memory. Failures of
// the file system become ERR_IO, with the system's code (ENOENT, ENOSPC, ...) in the message.
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ConvkitError, describe, fail } from './errors';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a component of the path is not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'file name too long',
  ELOOP: 'too many symbolic links',
  EIO: 'input/output error',
  EXDEV: 'the temporary file and the target are on different devices',
};

/** ERR_IO for a failed file operation, naming the file, what was being done and the system's code. */
export function ioError(op: string, doing: string, file: string, error: unknown): ConvkitError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reason = (code !== undefined && REASONS[code]) || (error instanceof Error ? error.message : String(error));
  return new ConvkitError('ERR_IO', `${op}: could not ${doing} ${JSON.stringify(file)}: ${reason}${code ? ` (${code})` : ''}`, { cause: error });
}

/** `file` must be a non-empty path string: a number would be taken as a file descriptor (0 is stdin). */
export function checkPath(op: string, name: string, file: unknown): string {
  if (typeof file !== 'string' || file === '' || file.includes('\0')) fail('ERR_ARG', op, name, 'a non-empty path string', file);
  return file;
}

/**
 * Writes `data` to `file` through a temporary file in the same folder (created exclusively,
 * fsynced, renamed over the target, then the folder fsynced). On any failure the temporary file
 * is removed and the target is left as it was. A symbolic link is followed: its target is replaced.
 */
export function writeFileAtomic(op: string, file: string, data: Uint8Array): void {
  const target = followLink(file);
  const folder = path.dirname(target);
  // Hidden, unique and short enough for NAME_MAX whatever the target's name.
  const temporary = path.join(folder, `.${path.basename(target).slice(0, 160)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | null = null;
  let created = false;
  try {
    fd = fs.openSync(temporary, 'wx', 0o666);
    created = true;
    const mode = existingMode(target);
    if (mode !== null) fs.fchmodSync(fd, mode);
    for (let written = 0; written < data.length; ) written += fs.writeSync(fd, data, written, data.length - written);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(temporary, target);
  } catch (error) {
    if (fd !== null) closeQuietly(fd);
    if (created) removeQuietly(temporary);
    throw ioError(op, 'write', file, error);
  }
  syncFolder(folder);
}

/** The file a path names, through symbolic links; the path itself when it does not exist yet. */
function followLink(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** A replaced file keeps its permissions (a fresh one gets the umask's). */
function existingMode(file: string): number | null {
  try {
    return fs.statSync(file).mode & 0o7777;
  } catch {
    return null;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Already reporting the error that brought us here.
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // Already reporting the error that brought us here.
  }
}

/** Makes the rename durable. Some platforms and file systems cannot fsync a folder; the file is in place either way. */
function syncFolder(folder: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(folder, 'r');
    fs.fsyncSync(fd);
  } catch {
    // See above: only durability across a power cut is at stake, and nothing can be done here.
  } finally {
    if (fd !== null) closeQuietly(fd);
  }
}

/**
 * Checks that `file` can be written (opened for appending, created if missing and removed again)
 * without changing it: for reports written at the end of a long run. ERR_IO when it cannot.
 */
export function checkWritableFile(op: string, file: string): void {
  const existed = fs.existsSync(file);
  try {
    // O_NONBLOCK: a FIFO without a reader fails (ENXIO) instead of blocking.
    const flags = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | (fs.constants.O_NONBLOCK ?? 0);
    fs.closeSync(fs.openSync(file, flags, 0o666));
  } catch (error) {
    throw ioError(op, 'write', file, error);
  }
  if (!existed) removeQuietly(file);
}

/** An open regular file: its descriptor (the caller closes it) and its size. */
export interface OpenFile {
  fd: number;
  size: number;
}

/**
 * Opens `file` for reading if it is a regular file; anything else (a folder, a FIFO, a device) is
 * ERR_ARG, decided from the open descriptor so that nothing can swap the file in between.
 */
export function openRegularFile(op: string, file: string): OpenFile {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one;
    // it changes nothing for a regular file. O_NOCTTY: a terminal never becomes ours.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOCTTY ?? 0));
  } catch (error) {
    throw ioError(op, 'open', file, error);
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) throw new ConvkitError('ERR_ARG', `${op}: file must be a regular file, got ${describe(file)}, ${kindOf(stats)}`);
    return { fd, size: stats.size };
  } catch (error) {
    closeQuietly(fd);
    throw error instanceof ConvkitError ? error : ioError(op, 'read', file, error);
  }
}

function kindOf(stats: fs.Stats): string {
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Reads `length` bytes at `position`; fewer when the file ends first (it shrank since fstat). */
export function readAt(op: string, file: string, fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  try {
    while (done < length) {
      const read = fs.readSync(fd, bytes, done, length - done, position + done);
      if (read === 0) break;
      done += read;
    }
  } catch (error) {
    throw ioError(op, 'read', file, error);
  }
  return bytes.subarray(0, done);
}
