/* Checks what the kernel hands a new program: argv, envp and the auxiliary
 * vector. Prints its argv and environment as `argv[i]=[...]` and `env=[...]`
 * lines and a few `info` lines for the test to compare, then one `ok <what>` per
 * passed check and `FAIL <what>` per failed one; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));
extern char _start[] __attribute__((visibility("hidden")));

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok)
        failures++;
}

static const ElfW(auxv_t) *raw_auxv;

/* Looks a key up in the auxiliary vector found on the stack; 1 if present. */
static int raw(unsigned long key, unsigned long *value)
{
    for (const ElfW(auxv_t) *a = raw_auxv; a && a->a_type != AT_NULL; a++)
        if (a->a_type == key) {
            *value = a->a_un.a_val;
            return 1;
        }
    return 0;
}

struct phdr_info {
    int calls;
    const ElfW(Phdr) *phdr;
    ElfW(Half) phnum;
    ElfW(Addr) addr;
};

static int first_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct phdr_info *out = data;
    (void)size;
    if (out->calls++ == 0) {
        out->phdr = info->dlpi_phdr;
        out->phnum = info->dlpi_phnum;
        out->addr = info->dlpi_addr;
    }
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i] ? argv[i] : "(null)");
    for (char **e = envp; *e; e++)
        printf("env=[%s]\n", *e);

    /* Layout of the initial stack: argc, argv..., NULL, envp..., NULL, auxv. */
    check(argc >= 1, "argc >= 1");
    check(argv[argc] == NULL, "argv[argc] == NULL");
    check(envp == argv + argc + 1, "envp follows argv");
    /* _start receives argv at entry rsp + 8 and the ABI wants rsp 16-aligned. */
    check((uintptr_t)argv % 16 == 8, "stack 16-byte aligned at entry (argv % 16 == 8)");
    char **e = envp;
    while (*e)
        e++;
    raw_auxv = (const ElfW(auxv_t) *)(e + 1);
    int n = 0;
    while (n < 512 && raw_auxv[n].a_type != AT_NULL)
        n++;
    check(n < 512, "auxv ends with AT_NULL");
    if (n >= 512)
        raw_auxv = NULL;
    int agree = 1;
    for (int i = 0; raw_auxv && i < n; i++) {
        unsigned long k = raw_auxv[i].a_type, v = raw_auxv[i].a_un.a_val;
        printf("auxv %lu %#lx\n", k, v);
        unsigned long first = 0;
        raw(k, &first); /* getauxval returns the first entry of a key */
        /* glibc answers AT_HWCAP/AT_HWCAP2 from its own (x86: rewritten) copy. */
        if (k != AT_HWCAP && k != AT_HWCAP2 && getauxval(k) != first) {
            printf("info getauxval(%lu) = %#lx\n", k, getauxval(k));
            agree = 0;
        }
    }
    check(agree, "getauxval agrees with the vector on the stack");

    static const struct {
        unsigned long key;
        const char *name;
    } required[] = {
        {AT_PHDR, "AT_PHDR"},     {AT_PHENT, "AT_PHENT"},     {AT_PHNUM, "AT_PHNUM"},
        {AT_PAGESZ, "AT_PAGESZ"}, {AT_ENTRY, "AT_ENTRY"},     {AT_RANDOM, "AT_RANDOM"},
        {AT_EXECFN, "AT_EXECFN"}, {AT_PLATFORM, "AT_PLATFORM"}, {AT_SECURE, "AT_SECURE"},
        {AT_UID, "AT_UID"},       {AT_EUID, "AT_EUID"},       {AT_GID, "AT_GID"},
        {AT_EGID, "AT_EGID"},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        char what[64];
        unsigned long v;
        snprintf(what, sizeof what, "%s present", required[i].name);
        check(raw(required[i].key, &v), what);
    }

    const char *path = getenv("PATH"), *home = getenv("HOME");
    check(path && *path, "PATH is set");
    check(home && *home, "HOME is set");

    check(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ == 4096");
    check(sysconf(_SC_PAGESIZE) == 4096, "sysconf(_SC_PAGESIZE) == 4096");

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    for (int i = 0; rnd && i < 16; i++)
        nonzero |= rnd[i];
    check(rnd && nonzero, "AT_RANDOM points to 16 bytes, not all zero");

    /* The program headers as loaded: the ELF header is mapped at __ehdr_start. */
    const ElfW(Ehdr) *eh = &__ehdr_start;
    const ElfW(Phdr) *phdr = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    printf("info ehdr=%p phdr=%p\n", (const void *)eh, (const void *)phdr);
    check(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0, "ELF header mapped at __ehdr_start");
    check(getauxval(AT_PHDR) == (unsigned long)phdr, "AT_PHDR == loaded program headers");
    check(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)) && eh->e_phentsize == sizeof(ElfW(Phdr)),
          "AT_PHENT == sizeof(Elf64_Phdr)");
    check(getauxval(AT_PHNUM) == eh->e_phnum, "AT_PHNUM == e_phnum");

    /* Load bias: where the segment holding file offset 0 ended up. */
    ElfW(Addr) bias = 0;
    int have_bias = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (phdr[i].p_type == PT_LOAD && phdr[i].p_offset == 0) {
            bias = (ElfW(Addr))eh - phdr[i].p_vaddr;
            have_bias = 1;
            break;
        }
    check(have_bias, "a PT_LOAD maps the ELF header");
    check(bias % 4096 == 0, "load bias is page aligned");
    for (int i = 0; i < eh->e_phnum; i++)
        if (phdr[i].p_type == PT_PHDR)
            check(phdr[i].p_vaddr + bias == getauxval(AT_PHDR), "PT_PHDR + bias == AT_PHDR");
    check(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY == _start");
    check(getauxval(AT_ENTRY) == eh->e_entry + bias, "AT_ENTRY == e_entry + load bias");

    struct phdr_info pi = {0};
    dl_iterate_phdr(first_object, &pi);
    check(pi.calls >= 1 && pi.phdr == phdr && pi.phnum == eh->e_phnum && pi.addr == bias,
          "dl_iterate_phdr agrees");

    unsigned long base;
    if (raw(AT_BASE, &base))
        check(base == 0, "AT_BASE == 0 (no interpreter)");

    const char *execfn = (const char *)getauxval(AT_EXECFN);
    check(execfn && *execfn, "AT_EXECFN is a string");
    if (execfn)
        printf("info AT_EXECFN=[%s]\n", execfn);
    const char *platform = (const char *)getauxval(AT_PLATFORM);
    check(platform && strcmp(platform, "x86_64") == 0, "AT_PLATFORM == \"x86_64\"");
    check(getauxval(AT_SECURE) == 0, "AT_SECURE == 0");

    check(getauxval(AT_UID) == getuid(), "AT_UID == getuid()");
    check(getauxval(AT_EUID) == geteuid(), "AT_EUID == geteuid()");
    check(getauxval(AT_GID) == getgid(), "AT_GID == getgid()");
    check(getauxval(AT_EGID) == getegid(), "AT_EGID == getegid()");
    printf("info AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu\n", getauxval(AT_UID),
           getauxval(AT_EUID), getauxval(AT_GID), getauxval(AT_EGID));
    printf("info AT_HWCAP=%#lx AT_CLKTCK=%lu\n", getauxval(AT_HWCAP), getauxval(AT_CLKTCK));

    if (failures) {
        printf("%d checks failed\n", failures);
        return 1;
    }
    printf("auxv ok\n");
    return 0;
}
