package city

import "testing"

func BenchmarkGenerate(b *testing.B) {
	c, err := New(Config{Flats: 20000, Seed: 1, CallsPerFlatWeek: 0.5, Weeks: 52}, "hash")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		for _, t := range c.Tables() {
			for range t.Rows {
			}
		}
	}
}
