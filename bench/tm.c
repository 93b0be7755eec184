/* SPDX-License-Identifier: MIT */
/*
 * tm.c - the benchmark's stopwatch: `tm FILE COMMAND [ARG]...` runs COMMAND,
 * waits for it and appends its wall-clock time in seconds to FILE, one line,
 * and the CPU time (user and system) of COMMAND and of every descendant it
 * waited for to FILE.cpu: on a shared machine, time spent waiting for a CPU
 * shows in the first and not in the second.
 * It exits with COMMAND's status (128+N for a signal).  The harness starts
 * it inside each contender's environment (after the mount or the launcher
 * has set up), so only the workload is timed.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double t0, t1;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: tm FILE COMMAND [ARG]...\n");
		return 125;
	}
	t0 = tm_now();
	pid = fork();
	if (pid < 0) {
		perror("tm: fork");
		return 125;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror("tm: exec");
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("tm: waitpid");
		return 125;
	}
	t1 = tm_now();
	out = fopen(argv[1], "a");
	if (!out || fprintf(out, "%.6f\n", t1 - t0) < 0 || fclose(out)) {
		perror(argv[1]);
		return 125;
	}
	struct rusage ru;
	char cpu[4096];
	if (getrusage(RUSAGE_CHILDREN, &ru) == 0 &&
	    snprintf(cpu, sizeof(cpu), "%s.cpu", argv[1]) < (int)sizeof(cpu) &&
	    (out = fopen(cpu, "a"))) {
		fprintf(out, "%.6f\n", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
		fclose(out);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
