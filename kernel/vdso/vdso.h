/* The data page the kernel maps just before the vDSO (read-only to the program). */
struct vdso_data {
    unsigned long magic;        /* VDSO_MAGIC once filled */
    unsigned long tsc_boot;     /* TSC at monotonic time 0 */
    unsigned long mult;         /* ns = ((tsc - tsc_boot) * mult) >> shift */
    unsigned long shift;
    unsigned long realtime_boot_ns; /* CLOCK_REALTIME at monotonic time 0 */
};
#define VDSO_MAGIC 0x6e75747368656c6cUL
