// 100 goroutines talking over channels: a ring passing a token, a fan-out /
// fan-in of squares, a sync.WaitGroup, a Mutex, time.Sleep, select with a
// timeout, and a goroutine spinning without function calls (with one vCPU
// only Go's signal-based asynchronous preemption lets the others run).
package main

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	const n = 100

	// A ring of 100 goroutines: each adds its index to the token.
	chans := make([]chan int, n+1)
	for i := range chans {
		chans[i] = make(chan int)
	}
	for i := 0; i < n; i++ {
		go func(i int) {
			v := <-chans[i]
			chans[i+1] <- v + i
		}(i)
	}
	chans[0] <- 0
	fmt.Println("ring of", n, "goroutines:", <-chans[n])

	// Fan-out / fan-in with a WaitGroup and a Mutex.
	results := make(chan int, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int]bool{}
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i%10) * time.Millisecond)
			mu.Lock()
			seen[i] = true
			mu.Unlock()
			results <- i * i
		}(i)
	}
	wg.Wait()
	close(results)
	var squares []int
	sum := 0
	for v := range results {
		squares = append(squares, v)
		sum += v
	}
	sort.Ints(squares)
	fmt.Println("squares:", len(squares), "sum", sum, "first", squares[:5], "last", squares[n-1], "seen", len(seen))

	// time.Sleep really sleeps.
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	fmt.Println("slept >= 100 ms:", time.Since(start) >= 100*time.Millisecond)

	// select with a timeout on a channel nobody writes.
	never := make(chan int)
	start = time.Now()
	select {
	case <-never:
		fmt.Println("FAIL received")
	case <-time.After(50 * time.Millisecond):
		fmt.Println("select timed out after >= 50 ms:", time.Since(start) >= 50*time.Millisecond)
	}

	// A spinning goroutine must not starve the others.
	var spins uint64
	var stop int32
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			spins++
		}
	}()
	runtime.Gosched()
	done := make(chan bool)
	go func() {
		time.Sleep(20 * time.Millisecond)
		done <- true
	}()
	fmt.Println("sleeper finished beside a spinner:", <-done)
	atomic.StoreInt32(&stop, 1)

	// A counter shared by 100 goroutines.
	var counter int64
	var wg2 sync.WaitGroup
	for i := 0; i < n; i++ {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for k := 0; k < 1000; k++ {
				atomic.AddInt64(&counter, 1)
			}
		}()
	}
	wg2.Wait()
	fmt.Println("atomic counter:", counter)
	fmt.Println("go ok")
}
