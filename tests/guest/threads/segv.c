/* A SIGSEGV handler that recovers with siglongjmp: from a NULL read, a write
 * to a read-only page (si_code, si_addr checked), a fault in a second thread
 * (handled on that thread), and stack overflows caught on an alternate signal
 * stack, in main and in a thread (the guard page of a pthread stack). */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static __thread sigjmp_buf *recover;
static __thread void *fault_addr;
static __thread int fault_code;
static __thread int on_altstack;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    fault_addr = si->si_addr;
    fault_code = si->si_code;
    stack_t ss;
    sigaltstack(NULL, &ss);
    on_altstack = (ss.ss_flags & SS_ONSTACK) != 0;
    siglongjmp(*recover, 1);
}

static const char *code_name(int code)
{
    return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "other";
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline, noipa)) static long dive(long depth)
{
    volatile char frame[4096];
    frame[0] = (char)depth;
    return dive(depth + 1) + frame[0];
}

static void use_altstack(void)
{
    stack_t ss = {.ss_sp = malloc(64 * 1024), .ss_size = 64 * 1024, .ss_flags = 0};
    sigaltstack(&ss, NULL);
}

static int overflow(const char *who)
{
    sigjmp_buf env;
    recover = &env;
    if (sigsetjmp(env, 1)) {
        printf("%s: stack overflow caught, on the alternate stack: %s\n", who,
               on_altstack ? "yes" : "no");
        return 0;
    }
    dive(0);
    printf("%s: FAIL no overflow\n", who);
    return 1;
}

static void *thread_faults(void *arg)
{
    (void)arg;
    sigjmp_buf env;
    recover = &env;
    volatile int *bad = (int *)0x1000;
    if (sigsetjmp(env, 1)) {
        printf("thread: recovered from a read of %p (%s)\n", fault_addr, code_name(fault_code));
    } else {
        (void)*bad;
        printf("thread: FAIL no fault\n");
    }
    use_altstack();
    overflow("thread");
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);

    sigjmp_buf env;
    recover = &env;
    volatile int recovered = 0;
    volatile int *volatile null = NULL;
    if (sigsetjmp(env, 1) == 0) {
        (void)*null;
        printf("FAIL no fault from NULL\n");
    } else {
        printf("recovered from a NULL read: addr %p, %s\n", fault_addr, code_name(fault_code));
        recovered++;
    }
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(env, 1) == 0) {
        ro[8] = 1;
        printf("FAIL no fault from a read-only page\n");
    } else {
        printf("recovered from a write to a read-only page: addr right: %s, %s\n",
               fault_addr == ro + 8 ? "yes" : "no", code_name(fault_code));
        recovered++;
    }
    /* The signal mask was restored by siglongjmp: a third fault works too. */
    for (volatile int i = 0; i < 100; i++) {
        if (sigsetjmp(env, 1) == 0)
            (void)*null;
        else
            recovered++;
    }
    printf("recovered %d times\n", recovered);

    pthread_t t;
    pthread_create(&t, NULL, thread_faults, NULL);
    pthread_join(t, NULL);

    use_altstack();
    overflow("main");
    printf("segv ok\n");
    return 0;
}
