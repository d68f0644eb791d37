// A small net/http server for crates/nutshell/tests/servers.rs, built by the test with
// CGO_ENABLED=0 (a static Go binary, no module dependencies) and run in nutshell.
//
//	GET  /hello      "hello from go\n"
//	GET  /count      the number of requests served before this one, in decimal
//	POST /echo       the request body, with the header X-Length: its length (GET: 405)
//	GET  /bytes?n=N  N bytes, byte i being i*7 mod 256
//
// It prints "listening on ADDR" once the socket listens.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
)

func main() {
	addr := ":8090"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	var served int64
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		io.WriteString(w, "hello from go\n")
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		n := atomic.AddInt64(&served, 1) - 1
		io.WriteString(w, strconv.FormatInt(n, 10))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&served, 1)
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 0 || n > 64<<20 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, "serve:", err)
		os.Exit(1)
	}
}
