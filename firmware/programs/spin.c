/* spin.c - a busy loop that never ends: for --max-insns. */
#include "runtime.h"

int main(void)
{
    printf("spinning\n");
    for (volatile uint32_t i = 0;; i++)
        ;
}
