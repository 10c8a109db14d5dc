/* not_shared.so - an ELF executable, not a shared object: the loader must
 * refuse it before dlopen(). */
#include <stdio.h>

int main(void)
{
    puts("not_shared: I am a program, not a jobrt plugin");
    return 0;
}
