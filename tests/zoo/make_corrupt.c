/*
 * make_corrupt.c - build-time tool that writes damaged copies of a valid
 * plugin for the zoo (see README.md):
 *   make_corrupt truncate IN OUT BYTES   the first BYTES bytes of IN
 *   make_corrupt zero-dynamic IN OUT     IN with its PT_DYNAMIC zeroed
 *   make_corrupt other-machine IN OUT    IN claiming another e_machine
 *   make_corrupt other-class IN OUT      IN with the other EI_CLASS byte
 * IN must be a shared object of the build machine's own class.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        exit(1);
    }
    long n = ftell(f);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    rewind(f);
    if (n < (long)sizeof(ElfW(Ehdr)) || buf == NULL ||
        fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "make_corrupt: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spill(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void zero_dynamic(unsigned char *buf, size_t len)
{
    ElfW(Ehdr) eh;
    memcpy(&eh, buf, sizeof eh);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        size_t off = eh.e_phoff + (size_t)i * sizeof ph;
        if (off + sizeof ph > len)
            break;
        memcpy(&ph, buf + off, sizeof ph);
        if (ph.p_type == PT_DYNAMIC && ph.p_offset + ph.p_filesz <= len) {
            memset(buf + ph.p_offset, 0, ph.p_filesz);
            return;
        }
    }
    fprintf(stderr, "make_corrupt: no PT_DYNAMIC\n");
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: make_corrupt MODE IN OUT [BYTES]\n");
        return 2;
    }
    size_t len;
    unsigned char *buf = slurp(argv[2], &len);
    const char *mode = argv[1];
    if (strcmp(mode, "truncate") == 0 && argc == 5) {
        size_t n = strtoul(argv[4], NULL, 10);
        len = n < len ? n : len;
    } else if (strcmp(mode, "zero-dynamic") == 0) {
        zero_dynamic(buf, len);
    } else if (strcmp(mode, "other-machine") == 0) {
        ElfW(Half) m;
        memcpy(&m, buf + offsetof(ElfW(Ehdr), e_machine), sizeof m);
        m = m == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
        memcpy(buf + offsetof(ElfW(Ehdr), e_machine), &m, sizeof m);
    } else if (strcmp(mode, "other-class") == 0) {
        buf[EI_CLASS] = buf[EI_CLASS] == ELFCLASS64 ? ELFCLASS32 : ELFCLASS64;
    } else {
        fprintf(stderr, "make_corrupt: unknown mode %s\n", mode);
        return 2;
    }
    spill(argv[3], buf, len);
    free(buf);
    return 0;
}
