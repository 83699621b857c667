/*
 * tests/fuzz/replay.c - runs a harness's LLVMFuzzerTestOneInput over every file in the
 * directories (or files) given as arguments, so ctest replays the checked-in corpus in builds
 * without libFuzzer. Exits non-zero if an argument cannot be read or holds no inputs; a failing
 * input aborts inside the harness (or trips ASan/UBSan), naming itself on stderr first.
 */
#define _POSIX_C_SOURCE 200809L
#include "fuzz.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Runs one file through the harness, read whole into a buffer of exactly its size (so ASan sees a
 * read one past the input's end). 0, or -1 if it cannot be read in full. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;

    if (!f) {
        perror(path);
        return -1;
    }
    if (fstat(fileno(f), &st) < 0) {
        perror(path);
        fclose(f);
        return -1;
    }
    if (st.st_size < 0 || (uintmax_t)st.st_size > SIZE_MAX) {
        fprintf(stderr, "%s: size %jd cannot be read into memory\n", path, (intmax_t)st.st_size);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (!data) {
        fprintf(stderr, "%s: no memory for its %zu bytes\n", path, size);
        fclose(f);
        return -1;
    }
    size_t n = fread(data, 1, size, f);
    if (n != size) {
        if (ferror(f))
            perror(path);
        else
            fprintf(stderr, "%s: read %zu of its %zu bytes\n", path, n, size);
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    fprintf(stderr, "replay %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

/* Replays path (a file, or every regular file in a directory); adds to *count. */
static int replay_path(const char *path, int *count)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return replay_file(path);
    }
    DIR *dir = opendir(path);
    if (!dir) {
        perror(path);
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(dir)) != NULL) {
        char full[4096];
        if (de->d_name[0] == '.')
            continue;
        snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
        if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        (*count)++;
        rc = replay_file(full);
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    int count = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (replay_path(argv[i], &count) < 0)
            return 1;
    }
    if (count == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    printf("%d inputs replayed without a failure\n", count);
    return 0;
}
