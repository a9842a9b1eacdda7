package store

import "testing"

// BenchmarkTimeline: the :timeline screen's query on the 1M-job cache
// (~67k ERRORED jobs in 31 signatures over ~10 hours), for the whole data
// (a scan of the ERRORED index), its last hour and its last five minutes
// (a seek to the window).
//
//	go test ./store -run '^$' -bench Timeline -benchtime 1x
func BenchmarkTimeline(b *testing.B) {
	s := triageBenchCache(b)
	end := int64(1750000000000 + 1_000_000*37 + 1)
	for _, c := range []struct {
		name  string
		since int64
	}{
		{"all", end - 24*3_600_000},
		{"last_hour", end - 3_600_000},
		{"last_5min", end - 300_000},
	} {
		b.Run(c.name, func(b *testing.B) {
			var res TimelineResult
			for b.Loop() {
				var err error
				res, err = s.Timeline(ctx, TimelineOptions{Since: c.since, Until: end})
				if err != nil || len(res.Entries) == 0 {
					b.Fatal(len(res.Entries), err)
				}
			}
			b.ReportMetric(float64(res.Jobs), "jobs")
			b.ReportMetric(float64(len(res.Entries)), "entries")
		})
	}
}
