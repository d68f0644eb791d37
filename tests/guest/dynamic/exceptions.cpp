// A dynamically linked C++ program (libstdc++, libgcc_s, libm, libc through ld.so):
// exceptions thrown and caught across frames, rethrown, nested, with destructors run during
// unwinding, plus some of the standard library. Prints the same lines natively and in nutshell.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

static int destroyed = 0;

struct Guard {
    std::string name;
    explicit Guard(std::string n) : name(std::move(n)) {}
    ~Guard() { destroyed++; }
};

struct Shape {
    virtual ~Shape() = default;
    virtual double area() const = 0;
    virtual std::string name() const = 0;
};

struct Rect : Shape {
    double w, h;
    Rect(double w_, double h_) : w(w_), h(h_) {}
    double area() const override { return w * h; }
    std::string name() const override { return "rect"; }
};

struct Circle : Shape {
    double r;
    explicit Circle(double r_) : r(r_) {
        if (r_ < 0) throw std::invalid_argument("negative radius");
    }
    double area() const override { return 3.14159265358979 * r * r; }
    std::string name() const override { return "circle"; }
};

struct MyError : std::runtime_error {
    int code;
    MyError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

static int depth(int n) {
    Guard g("level " + std::to_string(n));
    if (n == 0) throw MyError("bottom reached", 42);
    return depth(n - 1) + 1;
}

static void rethrower() {
    try {
        depth(5);
    } catch (MyError &e) {
        std::printf("caught inside: %s (code %d), rethrowing\n", e.what(), e.code);
        throw;
    }
}

int main(int argc, char **argv) {
    (void)argv;
    try {
        rethrower();
    } catch (const std::exception &e) {
        std::printf("caught outside: %s; %d guards destroyed\n", e.what(), destroyed);
    }

    std::vector<std::unique_ptr<Shape>> shapes;
    shapes.push_back(std::make_unique<Rect>(3, 4));
    shapes.push_back(std::make_unique<Circle>(1));
    try {
        shapes.push_back(std::make_unique<Circle>(-1));
    } catch (const std::invalid_argument &e) {
        std::printf("invalid_argument: %s\n", e.what());
    }
    for (const auto &s : shapes) std::printf("%s %.4f\n", s->name().c_str(), s->area());

    try {
        std::vector<int> v(3);
        (void)v.at(argc + 10);
    } catch (const std::out_of_range &e) {
        std::printf("out_of_range caught\n");
    }
    try {
        throw 7;
    } catch (int n) {
        std::printf("caught int %d\n", n);
    }
    try {
        try {
            throw std::string("inner");
        } catch (const std::string &s) {
            throw std::logic_error("outer after " + s);
        }
    } catch (const std::logic_error &e) {
        std::printf("nested: %s\n", e.what());
    }

    std::map<std::string, int> counts;
    std::istringstream words("the quick brown fox jumps over the lazy dog the end");
    for (std::string w; words >> w;) counts[w]++;
    for (const auto &[word, n] : counts) std::printf("%s=%d ", word.c_str(), n);
    std::printf("\n");
    std::vector<int> numbers(100);
    std::iota(numbers.begin(), numbers.end(), 1);
    std::reverse(numbers.begin(), numbers.end());
    std::sort(numbers.begin(), numbers.end());
    std::printf("sum %d\n", std::accumulate(numbers.begin(), numbers.end(), 0));
    std::printf("c++ dynamic ok\n");
    return 0;
}
