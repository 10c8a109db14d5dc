/*
 * elf_image.h - structural validation of a shared object held in memory
 * (the whole file, read once), before it is handed to dlopen(). Every
 * header, segment and section, and every table of the dynamic section that
 * glibc's loader reads while mapping and relocating (string and symbol
 * tables, hash tables, symbol versions, relocations, init/fini), must lie
 * inside the file and inside the segments that map it, so that a truncated
 * or corrupt file is one clear reason instead of a SIGBUS or SIGSEGV. It
 * also finds a dynamic symbol's bytes in the file, which is how the loader
 * checks the plugin descriptor before any plugin code runs, and says
 * whether glibc could ever unmap the file again (pin_reason).
 *
 * The image must be of the runtime's own ELF class, byte order and machine
 * (elf_target_self reads those from the runtime's own ELF header). Pure
 * code on a buffer: no I/O, no allocation.
 */
#ifndef JOBRT_ELF_IMAGE_H
#define JOBRT_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    unsigned char ei_class; /* ELFCLASS32 or ELFCLASS64 */
    unsigned char ei_data;  /* ELFDATA2LSB or ELFDATA2MSB */
    uint16_t machine;       /* EM_* */
} elf_target_t;

/* The runtime's own class, byte order and machine, from its ELF header in
 * memory. Returns 0, or -1 with why set. */
int elf_target_self(elf_target_t *self, char *why, size_t why_len);

/* A short name for an EM_* value ("x86-64", "AArch64", ...), or NULL. */
const char *elf_machine_name(uint16_t machine);

#define ELF_MAX_LOADS 32

typedef struct {
    uint64_t vaddr, memsz, offset, filesz;
    uint32_t flags; /* PF_R | PF_W | PF_X */
} elf_segment_t;

typedef struct {
    const unsigned char *buf;
    size_t len;
    elf_segment_t loads[ELF_MAX_LOADS]; /* PT_LOAD, ascending */
    size_t n_loads;
    uint64_t dyn_vaddr, dyn_filesz; /* PT_DYNAMIC */
    /* From the dynamic section, as file offsets. */
    size_t strtab_off, strsz;
    size_t symtab_off, nsyms;
    int textrel; /* relocations may write to read-only segments */
    /* Empty, or why dlclose() would leave this library mapped, so that it
     * can be loaded but never reloaded or unloaded in a running process:
     * the first of "linked with -z nodelete" (DF_1_NODELETE), "uses
     * initial-exec (static) TLS" (DF_STATIC_TLS), "STB_GNU_UNIQUE symbol
     * '<name>' (C++ inline static; build with -fno-gnu-unique)" (a defined
     * unique symbol), "C++ thread_local with a destructor" (an import of
     * __cxa_thread_atexit_impl or __cxa_thread_atexit). Not a rejection. */
    char pin_reason[192];
} elf_image_t;

/* Validates the len bytes at buf as a shared object for self. On success
 * returns 0 and img describes it (img borrows buf; pin_reason is set);
 * else -1 with a one-line reason in why. */
int elf_image_check(elf_image_t *img, const unsigned char *buf, size_t len,
                    const elf_target_t *self, char *why, size_t why_len);

typedef struct {
    uint64_t value; /* st_value: address relative to the load base */
    uint64_t size;  /* st_size */
    size_t file_off; /* where its bytes are in the file */
} elf_symbol_t;

/* A defined data symbol of the dynamic symbol table, by name. Returns 0
 * and fills sym; 1 if there is none; -1 with why set if it exists but its
 * bytes are not in the file. */
int elf_image_find_symbol(const elf_image_t *img, const char *name,
                          elf_symbol_t *sym, char *why, size_t why_len);

/* ---- shared by elf_image.c and elf_dynamic.c ---- */

/* The file offset of the size bytes at vaddr, if they are file-backed
 * bytes of one PT_LOAD segment. Returns 0, or -1. */
int elf_image_map(const elf_image_t *img, uint64_t vaddr, uint64_t size,
                  size_t *off);
/* Whether the size bytes at vaddr are inside one PT_LOAD segment's memory
 * (file-backed or not) whose flags include need (PF_W, PF_X or 0). */
int elf_image_in_memory(const elf_image_t *img, uint64_t vaddr,
                        uint64_t size, uint32_t need);
/* Copies n bytes at file offset off into dst; -1 if not all are inside. */
int elf_image_read(const elf_image_t *img, uint64_t off, void *dst, size_t n);
/* The second stage of elf_image_check: the dynamic section's tables, then
 * pin_reason. */
int elf_check_dynamic(elf_image_t *img, char *why, size_t why_len);

#endif
