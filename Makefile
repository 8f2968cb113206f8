# The README's two commands are the truth; these are shortcuts around them.
.PHONY: run test lint bench fuzz load

run:
	go run ./cmd/intercomd serve --demo

test:
	go tool gotestsum -- -race -timeout 30m ./...

lint:
	gofmt -l . | (! grep .)
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

# FUZZTIME=5m make fuzz
FUZZTIME ?= 30s
fuzz:
	go test -run '^$$' -fuzz '^FuzzTimetable$$' -fuzztime $(FUZZTIME) .
	go test -run '^$$' -fuzz '^FuzzTimetableTimezone$$' -fuzztime $(FUZZTIME) .
	go test -run '^$$' -fuzz '^FuzzParseIntercomUpdate$$' -fuzztime $(FUZZTIME) .
	go test -run '^$$' -fuzz '^FuzzParseFlatLinesUpdate$$' -fuzztime $(FUZZTIME) .
	go test -run '^$$' -fuzz '^FuzzPatchBody$$' -fuzztime $(FUZZTIME) ./http
	go test -run '^$$' -fuzz '^FuzzClientHeaders$$' -fuzztime $(FUZZTIME) ./http
	go test -run '^$$' -fuzz '^FuzzSIPRingFlat$$' -fuzztime $(FUZZTIME) ./http
	go test -run '^$$' -fuzz '^FuzzLanguageHeader$$' -fuzztime $(FUZZTIME) ./http
	go test -run '^$$' -fuzz '^FuzzClientMessage$$' -fuzztime $(FUZZTIME) ./pusher
	go test -run '^$$' -fuzz '^FuzzAcceptsGzip$$' -fuzztime $(FUZZTIME) ./web

load:
	scripts/bench.sh
	go run ./scripts/wsload
