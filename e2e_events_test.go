package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2EDemoEventsFollowAndTimeline: in the demo, :events lists the
// system events; F follows the newest (the status says so) and moving the
// cursor pauses it. :timeline then shows the demo's incident: the Insight
// Point outage event among the day's failures.
func TestE2EDemoEventsFollowAndTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short")
	}
	bin := buildBinary(t)
	s := startTmux(t, 160, 48, bin+" demo --scale 3000 --cache "+filepath.Join(t.TempDir(), "demo.db"))
	s.waitFor(60*time.Second, "Jobs (ERRORED)", "│ demo │")

	e2eCommand(s, "events")
	s.waitFor(30*time.Second, "EVENT TYPE", "MESSAGE", "row 1 of")
	s.keys("F")
	s.waitFor(10*time.Second, "FOLLOWING newest", "following the newest events")
	s.keys("j")
	screen := s.waitFor(10*time.Second, "follow paused (F resumes)", "follow paused: the cursor moved", "row 2 of")
	if strings.Contains(screen, "FOLLOWING") {
		t.Fatalf("still following after a move:\n%s", screen)
	}
	s.keys("F")
	s.waitFor(10*time.Second, "FOLLOWING newest", "row 1 of")

	// The timeline of the cached data's last day holds the outage event.
	e2eCommand(s, "timeline")
	screen = s.waitFor(30*time.Second, "newest first", "(last 24h of the cached data)", "INSIGHT_POINT_UNAVAILABLE")
	if !strings.Contains(screen, `Insight Point "insight-point-3" is unavailable`) {
		t.Fatalf("the timeline lacks the outage:\n%s", screen)
	}
	s.keys("Escape")
	s.waitGone(10*time.Second, "newest first")
	s.keys("q")
}
