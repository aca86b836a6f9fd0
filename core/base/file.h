/* file.h: opening and replacing files by path, for every part of the core that reads a file
 * a user or another file names (configs, tensor files, shards of a checkpoint index) or
 * writes one (activation dumps).
 *
 * Reading: a path may name a FIFO, a device or a directory, by mistake or by design; a plain
 * open() of a FIFO blocks until a writer appears, forever in practice. So every file is
 * opened with O_NONBLOCK (which makes that open return at once), checked with fstat on the
 * descriptor (no race between the check and the use), refused unless it is a regular file,
 * and only then switched back to blocking reads.
 *
 * Containment: a path a file names (a shard of model.safetensors.index.json) must stay in
 * the folder of that file once symbolic links are resolved, as `..` in the name must not
 * lead out of it either.
 *
 * Writing: a file is replaced atomically: the new content goes to a temporary file in the
 * same folder, which is flushed to disk and renamed over the target (then the folder is
 * flushed), so a reader or a crash sees either the old file or the whole new one. */
#ifndef LS_FILE_H
#define LS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/diag.h"

/* Opens path read-only (close-on-exec) without ever blocking: anything but a regular file
 * (FIFO, socket, device, directory) is refused with "not a regular file (a FIFO)" before a
 * byte is read. *fd is new (the caller closes it); *size, when not NULL, gets the size.
 * LS_ENOENT when the path does not exist, LS_EIO otherwise. */
int ls_file_open_ro(const char *path, int *fd, uint64_t *size, ls_diag *d);

/* Reads a whole regular file (opened as above) into a new buffer (ls_free) of *len bytes
 * plus a terminating NUL. LS_ELIMIT when the file holds more than max bytes. */
int ls_file_read(const char *path, size_t max, char **out, size_t *len, ls_diag *d);

/* LS_OK when path, with every symbolic link resolved, lies inside one of the folders
 * roots[0..n_roots) (resolved too; "" means the working directory); LS_EINVAL otherwise,
 * saying where the path leads and that it is outside `where` ("the checkpoint directory").
 * A path that does not exist is let through (opening it reports that). */
int ls_file_check_inside(const char *path, const char *const *roots, int n_roots, const char *where,
                         ls_diag *d);

/* Atomic replacement of `path`. ls_file_tmp_create makes a new, empty temporary file beside
 * path (same folder, so that rename cannot cross file systems), created exclusively, with
 * the permissions path has when it exists (else 0666 less the umask); *tmp_path is new
 * (ls_free) and *fd open for reading and writing. ls_file_tmp_commit flushes and closes fd,
 * renames the temporary over path and flushes the folder; on any failure it removes the
 * temporary and leaves path as it was. ls_file_tmp_discard closes fd (when >= 0) and
 * removes the temporary. Neither frees tmp_path. A process killed in between leaves its
 * temporary (`path.tmp-XXXXXXXX`) behind, and path intact. */
int ls_file_tmp_create(const char *path, char **tmp_path, int *fd, ls_diag *d);
int ls_file_tmp_commit(int fd, const char *tmp_path, const char *path, ls_diag *d);
void ls_file_tmp_discard(int fd, const char *tmp_path);

#endif
