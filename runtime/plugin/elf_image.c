/*
 * elf_image.c - the ELF header, program headers, section headers and notes
 * of a shared object in memory, the runtime's own ELF identity, address
 * translation and dynamic symbol lookup (see elf_image.h). The dynamic
 * section's tables are checked by elf_dynamic.c.
 */
#define _GNU_SOURCE
#include "plugin/elf_image.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "core/util.h"

#if UINTPTR_MAX > 0xffffffffu
#define SYM_TYPE(info) ELF64_ST_TYPE(info)
#else
#define SYM_TYPE(info) ELF32_ST_TYPE(info)
#endif

#ifndef PT_GNU_PROPERTY
#define PT_GNU_PROPERTY 0x6474e553
#endif

/* ---- the runtime's own identity ---------------------------------------- */

static const char self_anchor = 0; /* any object inside this binary */

static int target_from_header(const unsigned char *h, elf_target_t *self)
{
    if (h == NULL || memcmp(h, ELFMAG, SELFMAG) != 0)
        return -1;
    ElfW(Ehdr) eh;
    memcpy(&eh, h, sizeof eh);
    self->ei_class = eh.e_ident[EI_CLASS];
    self->ei_data = eh.e_ident[EI_DATA];
    self->machine = eh.e_machine;
    return 0;
}

int elf_target_self(elf_target_t *self, char *why, size_t why_len)
{
    Dl_info info;
    memset(self, 0, sizeof *self);
    if (dladdr(&self_anchor, &info) != 0 &&
        target_from_header(info.dli_fbase, self) == 0)
        return 0;
    /* the vDSO is an ELF object of the same class and machine */
    const unsigned char *vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
    if (target_from_header(vdso, self) == 0)
        return 0;
    return util_fail(why, why_len, "cannot read this runtime's own ELF header "
                  "to compare plugins against");
}

const char *elf_machine_name(uint16_t machine)
{
    switch (machine) {
    case EM_386: return "i386";
    case EM_ARM: return "ARM";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_PPC: return "PowerPC";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "S/390";
    case EM_MIPS: return "MIPS";
    case EM_RISCV: return "RISC-V";
    case EM_SPARCV9: return "SPARC V9";
    default: return NULL;
    }
}

static const char *class_name(unsigned c)
{
    return c == ELFCLASS64 ? "64-bit" : c == ELFCLASS32 ? "32-bit" : "unknown";
}

/* ---- bounds ------------------------------------------------------------ */

int elf_image_read(const elf_image_t *img, uint64_t off, void *dst, size_t n)
{
    if (off > img->len || n > img->len - off)
        return -1;
    memcpy(dst, img->buf + off, n);
    return 0;
}

/* [off, off + size) inside [0, len), without overflow. */
static int in_file(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

int elf_image_map(const elf_image_t *img, uint64_t vaddr, uint64_t size,
                  size_t *off)
{
    for (size_t i = 0; i < img->n_loads; i++) {
        const elf_segment_t *s = &img->loads[i];
        if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->filesz &&
            size <= s->filesz - (vaddr - s->vaddr)) {
            *off = (size_t)(s->offset + (vaddr - s->vaddr));
            return 0;
        }
    }
    return -1;
}

int elf_image_in_memory(const elf_image_t *img, uint64_t vaddr,
                        uint64_t size, uint32_t need)
{
    for (size_t i = 0; i < img->n_loads; i++) {
        const elf_segment_t *s = &img->loads[i];
        if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->memsz &&
            size <= s->memsz - (vaddr - s->vaddr))
            return (s->flags & need) == need;
    }
    return 0;
}

static int power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

/* ---- headers ----------------------------------------------------------- */

static int check_ident(const unsigned char *buf, size_t len,
                       const elf_target_t *self, char *why, size_t why_len)
{
    if (len == 0)
        return util_fail(why, why_len, "not an ELF file (the file is "
                         "empty)");
    if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG) != 0)
        return util_fail(why, why_len, "not an ELF file");
    if (buf[EI_CLASS] != self->ei_class)
        return util_fail(why, why_len, "not a shared object for this machine "
                      "(ELF class %s, this runtime is %s)",
                      class_name(buf[EI_CLASS]), class_name(self->ei_class));
    if (buf[EI_DATA] != self->ei_data)
        return util_fail(why, why_len, "not a shared object for this machine "
                      "(wrong byte order)");
    if (buf[EI_VERSION] != EV_CURRENT)
        return util_fail(why, why_len, "unknown ELF version %u",
                      buf[EI_VERSION]);
    if (len < sizeof(ElfW(Ehdr)))
        return util_fail(why, why_len, "truncated: %zu bytes, shorter than an "
                      "ELF header", len);
    return 0;
}

static int check_ehdr(const ElfW(Ehdr) *eh, size_t len,
                      const elf_target_t *self, char *why, size_t why_len)
{
    if (eh->e_type != ET_DYN)
        return util_fail(why, why_len, "not a shared object (ELF type %u%s)",
                      (unsigned)eh->e_type,
                      eh->e_type == ET_EXEC ? ", an executable" : "");
    if (eh->e_machine != self->machine) {
        const char *m = elf_machine_name(eh->e_machine);
        const char *own = elf_machine_name(self->machine);
        return util_fail(why, why_len, "not a shared object for this machine "
                      "(built for %s, machine %u; this runtime is %s)",
                      m ? m : "another machine", (unsigned)eh->e_machine,
                      own ? own : "another");
    }
    if (eh->e_version != EV_CURRENT)
        return util_fail(why, why_len, "unknown ELF version %u",
                      (unsigned)eh->e_version);
    if (eh->e_ehsize != sizeof(ElfW(Ehdr)))
        return util_fail(why, why_len, "corrupt ELF header (header size %u)",
                      (unsigned)eh->e_ehsize);
    if (eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phnum == 0 ||
        eh->e_phnum == PN_XNUM)
        return util_fail(why, why_len, "corrupt ELF header (%u program "
                      "headers of %u bytes)", (unsigned)eh->e_phnum,
                      (unsigned)eh->e_phentsize);
    if (!in_file(len, eh->e_phoff,
                 (uint64_t)eh->e_phnum * sizeof(ElfW(Phdr))))
        return util_fail(why, why_len, "truncated or corrupt: program headers "
                      "at offset %llu do not fit in the file (%zu bytes)",
                      (unsigned long long)eh->e_phoff, len);
    return 0;
}

static int check_sections(const elf_image_t *img, const ElfW(Ehdr) *eh,
                          char *why, size_t why_len)
{
    if (eh->e_shoff == 0 && eh->e_shnum == 0)
        return 0; /* section headers are optional for loading */
    if (eh->e_shentsize != sizeof(ElfW(Shdr)))
        return util_fail(why, why_len, "corrupt ELF header (section header "
                      "size %u)", (unsigned)eh->e_shentsize);
    if (eh->e_shnum == 0)
        return util_fail(why, why_len, "corrupt ELF header (extended section "
                      "numbering is not supported)");
    uint64_t table = (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr));
    if (!in_file(img->len, eh->e_shoff, table))
        return util_fail(why, why_len, "truncated or corrupt: section headers "
                      "at offset %llu do not fit in the file (%zu bytes)",
                      (unsigned long long)eh->e_shoff, img->len);
    if (eh->e_shstrndx != SHN_UNDEF && eh->e_shstrndx >= eh->e_shnum)
        return util_fail(why, why_len, "corrupt ELF header (section name table "
                      "index %u of %u)", (unsigned)eh->e_shstrndx,
                      (unsigned)eh->e_shnum);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        ElfW(Shdr) sh;
        elf_image_read(img, eh->e_shoff + (uint64_t)i * sizeof sh, &sh,
                       sizeof sh);
        if (sh.sh_type == SHT_NOBITS || sh.sh_type == SHT_NULL)
            continue;
        if (!in_file(img->len, sh.sh_offset, sh.sh_size))
            return util_fail(why, why_len, "truncated or corrupt: section %u "
                          "(%llu bytes at offset %llu) does not fit in the file "
                          "(%zu bytes)", i, (unsigned long long)sh.sh_size,
                          (unsigned long long)sh.sh_offset, img->len);
    }
    return 0;
}

static int add_load(elf_image_t *img, const ElfW(Phdr) *ph, char *why,
                    size_t why_len)
{
    if (img->n_loads == ELF_MAX_LOADS)
        return util_fail(why, why_len, "more than %d loadable segments",
                      ELF_MAX_LOADS);
    if (ph->p_filesz > ph->p_memsz)
        return util_fail(why, why_len, "corrupt segment: %llu bytes in the "
                      "file but %llu in memory",
                      (unsigned long long)ph->p_filesz,
                      (unsigned long long)ph->p_memsz);
    if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
        return util_fail(why, why_len, "corrupt segment: its address range "
                      "wraps around");
    if (ph->p_align > 1 && (!power_of_two(ph->p_align) ||
                            ph->p_vaddr % ph->p_align !=
                                ph->p_offset % ph->p_align))
        return util_fail(why, why_len, "corrupt segment: address 0x%llx and "
                      "offset 0x%llx do not agree with its alignment %llu",
                      (unsigned long long)ph->p_vaddr,
                      (unsigned long long)ph->p_offset,
                      (unsigned long long)ph->p_align);
    if (img->n_loads > 0) {
        const elf_segment_t *prev = &img->loads[img->n_loads - 1];
        if (ph->p_vaddr < prev->vaddr + prev->memsz)
            return util_fail(why, why_len, "corrupt segments: loadable "
                          "segments overlap or are out of order");
    }
    elf_segment_t *s = &img->loads[img->n_loads++];
    s->vaddr = ph->p_vaddr;
    s->memsz = ph->p_memsz;
    s->offset = ph->p_offset;
    s->filesz = ph->p_filesz;
    s->flags = ph->p_flags;
    return 0;
}

/* The notes of a PT_NOTE / PT_GNU_PROPERTY segment, each inside it. */
static int check_notes(const elf_image_t *img, const ElfW(Phdr) *ph,
                       char *why, size_t why_len)
{
    size_t off;
    if (ph->p_filesz == 0)
        return 0;
    if (elf_image_map(img, ph->p_vaddr, ph->p_filesz, &off) != 0 ||
        !elf_image_in_memory(img, ph->p_vaddr, ph->p_memsz, 0))
        return util_fail(why, why_len, "corrupt note segment: not inside a "
                      "loadable segment");
    uint64_t align = ph->p_align == 8 ? 8 : 4;
    uint64_t pos = 0, end = ph->p_filesz;
    while (end - pos >= sizeof(ElfW(Nhdr))) {
        ElfW(Nhdr) n;
        elf_image_read(img, off + pos, &n, sizeof n);
        uint64_t name = ((uint64_t)n.n_namesz + 3) & ~(uint64_t)3;
        uint64_t desc = ((uint64_t)n.n_descsz + align - 1) & ~(align - 1);
        uint64_t need = sizeof n + name + desc;
        if (need > end - pos)
            return util_fail(why, why_len, "corrupt note at offset %llu: its "
                          "%u + %u bytes run past its segment",
                          (unsigned long long)(off + pos),
                          (unsigned)n.n_namesz, (unsigned)n.n_descsz);
        pos += need;
    }
    return 0;
}

/* Every segment other than PT_LOAD, once the PT_LOADs are known. */
static int check_other_segment(elf_image_t *img, const ElfW(Phdr) *ph,
                               char *why, size_t why_len)
{
    size_t off;
    switch (ph->p_type) {
    case PT_DYNAMIC:
        if (ph->p_filesz < sizeof(ElfW(Dyn)) ||
            ph->p_vaddr % sizeof(ElfW(Addr)) != 0 ||
            elf_image_map(img, ph->p_vaddr, ph->p_filesz, &off) != 0 ||
            off != ph->p_offset)
            return util_fail(why, why_len, "corrupt dynamic segment: not "
                          "inside the file-backed part of a loadable "
                          "segment");
        /* ld.so writes into a dynamic segment marked writable (DT_DEBUG):
         * the loadable segment holding it must be writable too. */
        if ((ph->p_flags & PF_W) &&
            !elf_image_in_memory(img, ph->p_vaddr, ph->p_filesz, PF_W))
            return util_fail(why, why_len, "corrupt dynamic segment: marked "
                          "writable inside a read-only loadable segment");
        img->dyn_vaddr = ph->p_vaddr;
        img->dyn_filesz = ph->p_filesz;
        return 0;
    case PT_NOTE:
    case PT_GNU_PROPERTY:
        return check_notes(img, ph, why, why_len);
    case PT_TLS:
        if (ph->p_filesz > ph->p_memsz ||
            (ph->p_align > 1 && !power_of_two(ph->p_align)) ||
            (ph->p_filesz > 0 &&
             elf_image_map(img, ph->p_vaddr, ph->p_filesz, &off) != 0))
            return util_fail(why, why_len, "corrupt TLS segment");
        return 0;
    case PT_PHDR:
    case PT_GNU_RELRO:
    case PT_GNU_EH_FRAME:
        if (ph->p_memsz > 0 &&
            !elf_image_in_memory(img, ph->p_vaddr, ph->p_memsz, 0))
            return util_fail(why, why_len, "corrupt segment (type 0x%x): not "
                          "inside a loadable segment",
                          (unsigned)ph->p_type);
        return 0;
    default:
        return 0;
    }
}

static int read_phdr(const elf_image_t *img, const ElfW(Ehdr) *eh,
                     unsigned i, ElfW(Phdr) *ph)
{
    return elf_image_read(img, eh->e_phoff + (uint64_t)i * sizeof *ph, ph,
                          sizeof *ph);
}

static int check_segments(elf_image_t *img, const ElfW(Ehdr) *eh,
                          char *why, size_t why_len)
{
    unsigned n_dynamic = 0;
    ElfW(Phdr) ph;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        read_phdr(img, eh, i, &ph);
        if (ph.p_type == PT_INTERP)
            return util_fail(why, why_len, "not a shared object (it is an "
                          "executable)");
        if (ph.p_filesz > 0 && !in_file(img->len, ph.p_offset, ph.p_filesz))
            return util_fail(why, why_len, "truncated or corrupt: segment %u "
                          "(%llu bytes at offset %llu) does not fit in the file "
                          "(%zu bytes)", i, (unsigned long long)ph.p_filesz,
                          (unsigned long long)ph.p_offset, img->len);
        if (ph.p_type == PT_DYNAMIC)
            n_dynamic++;
        if (ph.p_type == PT_LOAD && add_load(img, &ph, why, why_len) != 0)
            return -1;
    }
    if (img->n_loads == 0)
        return util_fail(why, why_len, "not a shared object (no loadable "
                      "segment)");
    if (n_dynamic != 1)
        return util_fail(why, why_len, "not a shared object (%u dynamic "
                      "segments)", n_dynamic);
    /* the others are checked against the PT_LOADs */
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        read_phdr(img, eh, i, &ph);
        if (ph.p_type != PT_LOAD &&
            check_other_segment(img, &ph, why, why_len) != 0)
            return -1;
    }
    return 0;
}

int elf_image_check(elf_image_t *img, const unsigned char *buf, size_t len,
                    const elf_target_t *self, char *why, size_t why_len)
{
    memset(img, 0, sizeof *img);
    img->buf = buf;
    img->len = len;
    if (check_ident(buf, len, self, why, why_len) != 0)
        return -1;
    ElfW(Ehdr) eh;
    memcpy(&eh, buf, sizeof eh);
    if (check_ehdr(&eh, len, self, why, why_len) != 0 ||
        check_sections(img, &eh, why, why_len) != 0 ||
        check_segments(img, &eh, why, why_len) != 0)
        return -1;
    return elf_check_dynamic(img, why, why_len);
}

/* ---- symbols ----------------------------------------------------------- */

int elf_image_find_symbol(const elf_image_t *img, const char *name,
                          elf_symbol_t *sym, char *why, size_t why_len)
{
    size_t name_len = strlen(name);
    for (size_t i = 1; i < img->nsyms; i++) {
        ElfW(Sym) s;
        elf_image_read(img, img->symtab_off + i * sizeof s, &s, sizeof s);
        /* st_name < strsz and the table ends in NUL (elf_dynamic.c) */
        const char *n = (const char *)img->buf + img->strtab_off + s.st_name;
        if (s.st_shndx == SHN_UNDEF || s.st_name + name_len >= img->strsz ||
            memcmp(n, name, name_len + 1) != 0)
            continue;
        if (SYM_TYPE(s.st_info) != STT_OBJECT)
            return util_fail(why, why_len, "%s is not a data object (symbol "
                          "type %u)", name,
                          (unsigned)SYM_TYPE(s.st_info));
        sym->value = s.st_value;
        sym->size = s.st_size;
        if (elf_image_map(img, s.st_value, s.st_size, &sym->file_off) != 0)
            return util_fail(why, why_len, "%s's %llu bytes at 0x%llx are not "
                          "in the file", name, (unsigned long long)s.st_size,
                          (unsigned long long)s.st_value);
        return 0;
    }
    return 1;
}
