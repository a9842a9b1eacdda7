package emulator

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// TestJobPageBytes: the jobs page writer's output is byte for byte what
// json.Marshal writes, for pages with and without payloads, hostile
// strings included, and for the edge cases of the envelope.
func TestJobPageBytes(t *testing.T) {
	check := func(name string, p veza.ListPage[veza.Job]) {
		t.Helper()
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJobPage(nil, &p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: differs at byte %d:\n got …%.120s\nwant …%.120s", name, i, got[max(0, i-40):], want[max(0, i-40):])
		}
	}
	check("nil values", veza.ListPage[veza.Job]{})
	check("empty", veza.ListPage[veza.Job]{Values: []veza.Job{}, HasMore: true, NextPageToken: "a<b>&\"c"})
	check("raw null", veza.ListPage[veza.Job]{Values: []veza.Job{{JobID: "x", Request: json.RawMessage(`null`)}}})
	for _, hostile := range []bool{false, true} {
		s := New(Options{Seed: 9, Scale: 5000, Hostile: hostile})
		for _, details := range []string{"true", "false"} {
			q := vals("details", details, "page_size", "100")
			for n := 0; n < 12; n++ {
				p := page[veza.Job](t, s, jobsPath, q)
				check("served page", p)
				// What went over the wire is what json.Marshal makes of it
				// (hostile mode rewrites the body afterwards: hostile.go).
				body := do(t, s, jobsPath, q).Body.Bytes()
				if want, _ := json.Marshal(p); !hostile && !bytes.Equal(body, want) {
					t.Fatalf("hostile=%v details=%s page %d: the served bytes are not json.Marshal's", hostile, details, n)
				}
				if !p.HasMore {
					break
				}
				q.Set("page_token", p.NextPageToken)
			}
		}
	}
}

// TestPayloadBytes: payloads are encoded with goccy/go-json for speed (it
// was half the emulator's CPU); what it writes must be what encoding/json
// would, so that the served bytes never depend on the encoder (a re-sync
// compares payload bytes). Decoding a payload into its struct and encoding
// it again with encoding/json gives encoding/json's bytes.
func TestPayloadBytes(t *testing.T) {
	s := New(Options{Seed: 3, Scale: 20000})
	q := vals("details", "true", "page_size", "100")
	n := 0
	for pages := 0; pages < 200; pages++ {
		p := page[veza.Job](t, s, jobsPath, q)
		for _, j := range p.Values {
			for _, c := range []struct {
				raw json.RawMessage
				v   any
			}{{j.Request, &veza.JobRequest{}}, {j.Result, &veza.JobResult{}}} {
				if len(c.raw) == 0 {
					continue
				}
				d := json.NewDecoder(bytes.NewReader(c.raw))
				d.UseNumber()
				if err := d.Decode(c.v); err != nil {
					t.Fatalf("job %s: %v", j.JobID, err)
				}
				want, err := json.Marshal(c.v)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(c.raw, want) {
					t.Fatalf("job %s: payload bytes differ from encoding/json's:\n got %.300s\nwant %.300s", j.JobID, c.raw, want)
				}
				n++
			}
		}
		if !p.HasMore {
			break
		}
		q.Set("page_token", p.NextPageToken)
	}
	if n < 1000 {
		t.Fatalf("only %d payloads compared", n)
	}
}
