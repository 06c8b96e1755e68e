/* Standalone replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over every file of the
 * corpus directories (or files) named on the command line, so the normal test suite (and its
 * ASan+UBSan run) replays the corpora without libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, like libFuzzer: a target that needs one-time setup defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define DRIVER_MAX_INPUT (1u << 20) /* corpus files are small; anything bigger is a mistake */

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(DRIVER_MAX_INPUT);
	if (!buf) {
		fclose(f);
		return -1;
	}
	size_t n = fread(buf, 1, DRIVER_MAX_INPUT, f);
	int bad = ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "%s: unreadable or larger than %u bytes\n", path, DRIVER_MAX_INPUT);
		free(buf);
		return -1;
	}
	/* An exact-size copy, so ASan sees reads one past the input as overflows. */
	uint8_t *in = malloc(n ? n : 1);
	if (!in) {
		free(buf);
		return -1;
	}
	memcpy(in, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of `dir` in name order (deterministic logs); returns how many ran or -1.
 */
static long run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nn = realloc(names, cap * sizeof(*names));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n])
			break;
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	long ran = 0;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) < 0)
				ran = -1;
			else if (ran >= 0)
				ran++;
		}
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	long total = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		long ran =
		    S_ISDIR(st.st_mode) ? run_dir(argv[i]) : (run_file(argv[i]) == 0 ? 1 : -1);
		if (ran < 0)
			return 1;
		total += ran;
	}
	printf("replayed %ld inputs\n", total);
	/* An empty corpus would make the test pass without testing anything. */
	return total > 0 ? 0 : 1;
}
