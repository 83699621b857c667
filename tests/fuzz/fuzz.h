/*
 * tests/fuzz/fuzz.h - the libFuzzer entry point every harness defines (STYLE rule 9).
 *
 * Each fuzz_<parser>.c feeds arbitrary bytes to one parser of outside input and aborts when a
 * documented property of the parser's answer does not hold, so the fuzzer finds wrong answers as
 * well as memory errors. The same file links either with libFuzzer (-fsanitize=fuzzer) or with
 * replay.c, which runs it over the checked-in corpus as an ordinary ctest test.
 */
#ifndef WD_TESTS_FUZZ_H
#define WD_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message when a property the harness checks does not hold. */
#define FUZZ_CHECK(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#endif
