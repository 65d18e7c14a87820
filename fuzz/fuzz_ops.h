/* The fuzz target's entry point (libFuzzer's name), also called by the
 * corpus replay tool. */
#ifndef FUZZ_OPS_H
#define FUZZ_OPS_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* FUZZ_OPS_H */
