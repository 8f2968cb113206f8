// Command noophttp is the baseline of scripts/bench.sh: the cheapest net/http
// server there is, answering every request with a small JSON body.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18181", "address to listen on")
	flag.Parse()
	body := []byte(`{"status":"ok"}` + "\n")
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})))
}
