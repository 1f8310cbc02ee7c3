/* libhako: hako's runtime for C and for language bindings.
 *
 * Every call runs the operation in a fork()ed, single-threaded child of the caller, so it is
 * safe from threaded programs (an interpreter, a JVM): joining a mount namespace with setns(2)
 * fails with EINVAL in a multi-threaded process, and the caller's threads never join anything.
 * There is no global state: a hako_ctx holds the state root and the last error; use one per
 * thread, or guard a shared one.
 *
 * Functions return 0 on success and -1 on failure; hako_last_error() then says what failed, on
 * what, the errno and the cause when known, as the hako command line does, and
 * hako_last_errno() / hako_last_error_field() give the errno and the field as data.
 */
#ifndef HAKO_H
#define HAKO_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hako_ctx hako_ctx;

/* root: where container state lives (NULL: /run/hako). NULL on out-of-memory. */
hako_ctx* hako_new(const char* root);
void hako_free(hako_ctx* ctx);
const char* hako_last_error(const hako_ctx* ctx);
/* The last failure's errno (0 when no syscall failed, as for a bad config value) and the config
 * field or argument it concerns ("" when none: "mounts[2]", "process.args[0]", "linux.sysctl"). */
int hako_last_errno(const hako_ctx* ctx);
const char* hako_last_error_field(const hako_ctx* ctx);

int hako_create(hako_ctx* ctx, const char* id, const char* bundle);
int hako_start(hako_ctx* ctx, const char* id);
/* create + start + wait; *exit_status: the container's status, or 128 + signal. */
int hako_run(hako_ctx* ctx, const char* id, const char* bundle, int* exit_status);
/* Run argv (NULL-terminated) in the running container `id` and wait. With `output` non-NULL its
 * stdout is captured into a malloc'd NUL-terminated string (free with hako_string_free);
 * otherwise it goes to the caller's stdout. */
int hako_exec(hako_ctx* ctx, const char* id, const char* const* argv, int* exit_status,
              char** output);
int hako_kill(hako_ctx* ctx, const char* id, int signal, int all);
int hako_delete(hako_ctx* ctx, const char* id, int force);
/* The OCI state JSON (malloc'd; free with hako_string_free). */
int hako_state(hako_ctx* ctx, const char* id, char** json);
/* A JSON array of states (malloc'd; free with hako_string_free). */
int hako_list(hako_ctx* ctx, char** json);
void hako_string_free(char* s);

#ifdef __cplusplus
}
#endif

#endif /* HAKO_H */
