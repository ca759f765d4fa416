// C++ exceptions across frames with static libstdc++/libgcc: x64 unwinds through
// Windows' table-based SEH (RaiseException, RtlUnwindEx, __gxx_personality_seh0),
// i686 through DWARF tables (libgcc alone).
#include <cstdio>
#include <stdexcept>
#include <string>

struct Guard {
    const char *name;
    ~Guard() { std::printf("cleanup %s\n", name); }
};

static int depth(int n)
{
    Guard g{n == 0 ? "innermost" : "frame"};
    if (n == 0)
        throw std::runtime_error("thrown " + std::to_string(3) + " frames down");
    return depth(n - 1) + 1;
}

static void (*volatile indirect)(int);
static void thrower(int v) { throw v; }

static void rethrow()
{
    try {
        depth(1);
    } catch (const std::exception &) {
        std::printf("rethrowing\n");
        throw;
    }
}

int main()
{
    try {
        depth(3);
    } catch (const std::exception &e) {
        std::printf("caught: %s\n", e.what());
    }
    indirect = thrower;
    try {
        indirect(42);
    } catch (long) {
        std::printf("wrong handler\n");
    } catch (int v) {
        std::printf("caught int %d\n", v);
    }
    try {
        rethrow();
    } catch (const std::runtime_error &e) {
        std::printf("caught again: %s\n", e.what());
    }
    int sum = 0;
    for (int i = 0; i < 200; i++) {
        try {
            if (i % 2)
                throw i;
        } catch (int v) {
            sum += v;
        }
    }
    std::printf("sum of 100 caught ints: %d\n", sum);
    try {
        throw std::string("a string");
    } catch (...) {
        std::printf("caught by ...\n");
    }
    return 0;
}
