package store

import "testing"

func BenchmarkScratchSplit(b *testing.B) {
	rows := newGen(1).jobs(100, 1, true)
	b.SetBytes(int64(len(rows[0].Raw)))
	for i := 0; b.Loop(); i++ {
		splitJobRaw(rows[i%100].Raw, rows[i%100].Request, rows[i%100].Result)
	}
}

func BenchmarkScratchFirstErr(b *testing.B) {
	rows := newGen(1).jobs(100, 1, true)
	for i := 0; b.Loop(); i++ {
		firstErrorMessage(rows[i%100].Result)
	}
}

func BenchmarkScratchLoop(b *testing.B) {
	rows := newGen(1).jobs(100, 1, true)
	b.SetBytes(int64(len(rows[0].Raw)))
	n := 0
	for i := 0; b.Loop(); i++ {
		for _, c := range rows[i%100].Raw {
			if c == '"' {
				n++
			}
		}
	}
	_ = n
}
