/*
 * kuser_linux.c - the ARM kuser helpers in the vector page, called through function
 * pointers as Linux documents them (Documentation/arm/kernel_user_helpers.rst), and the
 * ARM-private cacheflush system call over freshly written code.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <sys/syscall.h>

typedef int (kuser_cmpxchg_t)(int oldval, int newval, volatile int *ptr);
typedef int (kuser_cmpxchg64_t)(const int64_t *oldval, const int64_t *newval,
                                volatile int64_t *ptr);
typedef void *(kuser_get_tls_t)(void);
typedef void (kuser_dmb_t)(void);

#define kuser_helper_version (*(int32_t *)0xffff0ffc)
#define kuser_get_tls (*(kuser_get_tls_t *)0xffff0fe0)
#define kuser_cmpxchg (*(kuser_cmpxchg_t *)0xffff0fc0)
#define kuser_memory_barrier (*(kuser_dmb_t *)0xffff0fa0)
#define kuser_cmpxchg64 (*(kuser_cmpxchg64_t *)0xffff0f60)

int main(void)
{
    printf("version %d\n", kuser_helper_version);
    void *tp;
    __asm__ volatile("mrc p15, 0, %0, c13, c0, 3" : "=r"(tp));
    printf("get_tls matches TPIDRURO: %s\n", kuser_get_tls() == tp && tp ? "yes" : "no");
    volatile int v = 5;
    int r1 = kuser_cmpxchg(5, 7, &v);
    int r2 = kuser_cmpxchg(5, 9, &v);
    printf("cmpxchg: %d then %s, value %d\n", r1, r2 ? "fails" : "succeeds", v);
    kuser_memory_barrier();
    volatile int64_t w = 0x100000002LL;
    int64_t old = 0x100000002LL, new = 0x300000004LL, wrong = 1;
    int r3 = kuser_cmpxchg64(&old, &new, &w);
    int r4 = kuser_cmpxchg64(&wrong, &old, &w);
    printf("cmpxchg64: %d then %s, value %llx\n", r3, r4 ? "fails" : "succeeds",
           (unsigned long long)w);
    /* cacheflush over code written at run time: mov r0, #42; bx lr */
    uint32_t *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    code[0] = 0xe3a0002a;
    code[1] = 0xe12fff1e;
    long rc = syscall(0xf0002, code, code + 2, 0);
    printf("cacheflush %ld, generated code returns %d\n", rc, ((int (*)(void))code)());
    return 0;
}
