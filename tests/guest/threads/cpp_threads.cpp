// std::thread, std::async (launch::async and deferred), futures carrying
// values and exceptions, std::mutex, std::condition_variable, std::atomic,
// thread_local and std::promise.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <queue>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

thread_local int tl_id = -1;

int main()
{
    // Threads adding to a mutex-protected total and an atomic.
    std::mutex m;
    long total = 0;
    std::atomic<long> atomic_total{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; i++)
        threads.emplace_back([&, i] {
            tl_id = i;
            for (int k = 0; k < 10000; k++) {
                std::lock_guard<std::mutex> g(m);
                total += 1;
            }
            atomic_total.fetch_add(i, std::memory_order_relaxed);
            if (tl_id != i)
                std::printf("FAIL thread_local\n");
        });
    for (auto &t : threads)
        t.join();
    std::printf("total %ld, atomic %ld, main's thread_local %d\n", total, atomic_total.load(), tl_id);

    // std::async: sums of ranges in parallel.
    std::vector<std::future<long>> parts;
    for (long p = 0; p < 4; p++)
        parts.push_back(std::async(std::launch::async, [p] {
            long s = 0;
            for (long i = p * 250000 + 1; i <= (p + 1) * 250000; i++)
                s += i;
            return s;
        }));
    long sum = 0;
    for (auto &f : parts)
        sum += f.get();
    std::printf("async sum 1..1000000 = %ld\n", sum);
    auto deferred = std::async(std::launch::deferred, [] { return std::string("deferred ran"); });
    std::printf("%s\n", deferred.get().c_str());

    // An exception travels through a future.
    auto failing = std::async(std::launch::async, []() -> int { throw std::runtime_error("boom"); });
    try {
        failing.get();
        std::printf("FAIL no exception\n");
    } catch (const std::exception &e) {
        std::printf("exception from async: %s\n", e.what());
    }

    // Producer/consumer with a condition variable.
    std::queue<int> q;
    std::condition_variable cv;
    bool done = false;
    std::thread consumer([&] {
        long got = 0, s = 0;
        std::unique_lock<std::mutex> lk(m);
        for (;;) {
            cv.wait(lk, [&] { return !q.empty() || done; });
            while (!q.empty()) {
                s += q.front();
                q.pop();
                got++;
            }
            if (done)
                break;
        }
        std::printf("consumer: %ld items, sum %ld\n", got, s);
    });
    for (int i = 1; i <= 5000; i++) {
        {
            std::lock_guard<std::mutex> g(m);
            q.push(i);
        }
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> g(m);
        done = true;
    }
    cv.notify_one();
    consumer.join();

    // A promise fulfilled by a sleeping thread; wait_for times out first.
    std::promise<int> promise;
    auto fut = promise.get_future();
    std::thread setter([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        promise.set_value(99);
    });
    bool timed_out = fut.wait_for(std::chrono::milliseconds(10)) == std::future_status::timeout;
    std::printf("wait_for(10 ms) timed out: %s, value %d\n", timed_out ? "yes" : "no", fut.get());
    setter.join();
    std::printf("hardware_concurrency known: %s\n", std::thread::hardware_concurrency() > 0 ? "yes" : "no");
    std::printf("c++ threads ok\n");
    return 0;
}
