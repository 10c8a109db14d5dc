/*
 * fuzz_elf_image.c - libFuzzer target for the ELF validator: the input is
 * a whole plugin file. It is validated as the loader does before dlopen()
 * (headers, segments, dynamic section and its tables), then the descriptor
 * symbol is looked up and its integers checked; every read must stay in
 * the buffer. Seeds in tests/fuzz/corpus/elf_image are real plugins.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/descriptor.h"
#include "plugin/elf_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static elf_target_t self;
    static int have_self;
    char why[512];
    if (!have_self) {
        if (elf_target_self(&self, why, sizeof why) != 0)
            abort();
        have_self = 1;
    }
    /* an exact-size copy, so ASan sees any read past the end */
    unsigned char *buf = malloc(size ? size : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    elf_image_t img;
    if (elf_image_check(&img, buf, size, &self, why, sizeof why) == 0) {
        elf_symbol_t sym;
        if (elf_image_find_symbol(&img, JOBRT_PLUGIN_SYMBOL, &sym, why,
                                  sizeof why) == 0) {
            desc_layout_t lay;
            desc_check_header(buf + sym.file_off, (size_t)sym.size, &lay, why,
                              sizeof why);
        }
    }
    free(buf);
    return 0;
}
