package emulator
import "testing"
func BenchmarkPayload(b *testing.B) {
	g := newGen(1, 20000, DefaultNow)
	var m taskMat
	b.ReportAllocs()
	for i := 0; i < b.N; i++ { g.mat(i%g.nTasks, &m); if m.sk.nj > 0 { g.payload(&m, 0) } }
}
