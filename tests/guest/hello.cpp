// hello in C++: iostream plus a thrown and caught exception. The flavour name
// travels inside the exception, so the line can only be printed if unwinding
// (.eh_frame lookup, personality routine, TLS for the exception globals) works.
#include <iostream>
#include <stdexcept>
#include <string>

[[gnu::noinline]] static void thrower(const std::string &what)
{
    throw std::runtime_error(what);
}

int main()
{
    try {
        thrower("c++");
        std::cout << "hello from nowhere: the exception was not thrown" << std::endl;
        return 1;
    } catch (const std::exception &e) {
        std::cout << "hello from " << e.what() << std::endl;
    }
    return 0;
}
