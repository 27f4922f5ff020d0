/* fuzz-main.h: runs a dq program's main on one input, in process.
 *
 * A program stops on bad input with exit(3), which would end the fuzzer:
 * run.sh links these harnesses with -Wl,--wrap=exit,--wrap=fclose, so
 * that during a run exit jumps back here, and closing stdout leaves it
 * open for the next run. The programs are not changed for it. A stopped
 * run leaves behind what it had allocated on its way (a harness frees
 * what the program's own variables hold, see fuzz_stopped), so these
 * harnesses run with -detect_leaks=0: leaks are the bats suite's to
 * find, under the sanitizers, where the program really exits.
 * libFuzzer's -close_fd_mask=3 sends the program's output and messages
 * to /dev/null. */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void __real_exit(int status);
int __real_fclose(FILE *fp);
void __wrap_exit(int status);
int __wrap_fclose(FILE *fp);

static jmp_buf fuzz_stop;
static bool fuzz_running;
/* Set by a harness that can free what a stopped run of its program
 * holds, so that memory does not pile up from run to run. */
static void (*fuzz_stopped)(void);

void
__wrap_exit(int status)
{
	if (fuzz_running)
		longjmp(fuzz_stop, 1);
	__real_exit(status);
}

int
__wrap_fclose(FILE *fp)
{
	if (fp == stdout || fp == stderr)
		return fflush(fp);
	return __real_fclose(fp);
}

/* The descriptors open between runs. A stopped run leaves the files it
 * had open (a journal under flock(2), a policy file half read): they are
 * closed after it, or the next run would wait for its own lock, and runs
 * would run out of descriptors. */
#define FUZZ_FDS 1024
static bool fuzz_fd_kept[FUZZ_FDS];

static void
fuzz_fds(bool close_others)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || fd >= FUZZ_FDS)
			continue;
		if (!close_others)
			fuzz_fd_kept[fd] = true;
		else if (!fuzz_fd_kept[fd])
			close(fd);
	}
	closedir(d);
}

/* A file named name in $TMPDIR (run.sh sets it to its work directory),
 * which each input rewrites: its descriptor; its path in path. */
static inline int
fuzz_file(const char *name, char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/dq-fuzz-%s-%ld", dir ? dir : "/tmp", name,
	    (long)getpid());
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		abort();
	return fd;
}

static inline void
fuzz_put(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) != 0 ||
	    pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
}

/* Runs m(argc, argv) with the size bytes of data as its stdin, in the
 * environment of a test (no policy file, no clock but --now) and with
 * the settings a program starts with. */
static void
fuzz_main(int (*m)(int, char **), int argc, char **argv, const uint8_t *data,
    size_t size)
{
	static struct dq_policy initial;
	static bool saved_initial;
	FILE *in, *saved = stdin;

	if (!saved_initial) {
		initial = dq_policy;
		fuzz_fds(false);
		saved_initial = true;
	}
	dq_policy = initial;
	setenv("DQ_POLICY", "", 1);
	unsetenv("DQ_NOW");
	if (size == 0 || !(in = fmemopen((void *)data, size, "r")))
		return;
	stdin = in;
	optind = 0;
	fuzz_running = true;
	if (setjmp(fuzz_stop) == 0)
		m(argc, argv);
	else {
		if (fuzz_stopped)
			fuzz_stopped();
		fuzz_fds(true);
	}
	fuzz_running = false;
	fflush(stdout);
	clearerr(stdout);
	stdin = saved;
	__real_fclose(in);
}
