/* SPDX-License-Identifier: MIT */
/*
 * statloop.c - `statloop PATH N` calls stat(PATH) N times in
 * bench_loop(), so callgrind's --toggle-collect=bench_loop counts exactly
 * the instructions of those calls: run once with the shim preloaded and once
 * without, the difference divided by N is the shim's cost per wrapped call
 * on the passthrough path.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

__attribute__((noinline)) long bench_loop(const char *path, long n);

long bench_loop(const char *path, long n)
{
	struct stat st;
	long sum = 0;

	for (long i = 0; i < n; i++)
		if (stat(path, &st) == 0)
			sum += (long)st.st_nlink;
	return sum;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: statloop PATH N\n");
		return 2;
	}
	return bench_loop(argv[1], atol(argv[2])) > 0 ? 0 : 1;
}
