package veza

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FastJobPage lets the external tests (fastjob_emu_test.go) check the fast
// path on pages the emulator serves.
var FastJobPage = fastJobPage

// checkFastJobs decodes body with the fast path and, when it takes the
// page, requires exactly what encoding/json gives (the slow path of
// decodeRecords). It reports whether the fast path took the page.
func checkFastJobs(t testing.TB, body []byte) bool {
	t.Helper()
	got, ok := fastJobPage(body)
	if !ok {
		return false
	}
	want, err := decodeList[Record[Job]](&Client{}, "t", body)
	if err != nil {
		t.Fatalf("fast path took a page encoding/json refuses (%v): %q", err, body)
	}
	if !json.Valid(body) {
		t.Fatalf("fast path took invalid JSON: %q", body)
	}
	if got.HasMore != want.HasMore || got.NextPageToken != want.NextPageToken || len(got.Values) != len(want.Values) {
		t.Fatalf("%q:\n got %+v\nwant %+v", body, got, want)
	}
	for i := range got.Values {
		g, w := got.Values[i], want.Values[i]
		if string(g.Raw) != string(w.Raw) {
			t.Fatalf("%q: value %d raw\n got %s\nwant %s", body, i, g.Raw, w.Raw)
		}
		if !reflect.DeepEqual(g.Value, w.Value) {
			t.Fatalf("%q: value %d\n got %+v\nwant %+v", body, i, g.Value, w.Value)
		}
	}
	return true
}

const fastJob1 = `{"job_id":"b1dc9bd1-3913-4d14-afcb-c30bb75466f8","state":"ERRORED","policy_task":"c59560c6","action_name":"Sync Job Title to AD",` +
	`"action_type":"SYNC_IDENTITIES","policy_id":"p1","workflow_name":"Joiner","identity_id":"i1","identity_name":"Ada Lovelace",` +
	`"event_source":"POLICY","event_source_id":"p1","extraction_event":"e1","extraction_event_type":"FULL",` +
	`"created_at":"2025-12-06T09:22:23.311Z","started_at":"2025-12-06T09:22:23.39+01:00","completed_at":null,` +
	`"any_changes":true,"events_created":3,"unknown":{"a":[1,2.5e-3,-0,true,false,null,"x\u00e9\n"]},` +
	`"request":{"data_source":{"id":"d9","config":{"use_ssl":true}},"input_entities":[]},` +
	`"result":{"output_entities":[],"error_messages":["okta: 429 \"rate\" limited"],"any_changes":false}}`

// TestFastJobsMatchEncodingJSON: on every page the fast path takes, it
// gives exactly what encoding/json gives; the pages it must leave to
// encoding/json (so that its semantics and errors apply) it leaves.
func TestFastJobsMatchEncodingJSON(t *testing.T) {
	taken := []string{
		`{"values":[],"has_more":false}`,
		`{"has_more":true,"next_page_token":"t","values":[{"job_id":"a"}]}`,
		`{"values":[` + fastJob1 + `,` + fastJob1 + `],"has_more":true,"next_page_token":"abc","extra":[{}]}`,
		" {\n \"values\" : [ {\"job_id\" : \"a\", \"x\": [1, {\"y\": \"]}\\\"[{\"}], \"n\": -1.5e3} ,\t{\"job_id\":\"b\",\"t\":true,\"f\":null}\r\n] , \"has_more\" : false } ",
		`{"values":[{"job_id":"a","job_id":"b","state":"X","state":null}]}`, // last wins; null keeps
		`{"values":[{"request":null,"result":{"x":1},"created_at":null,"any_changes":null,"events_created":null}]}`,
		`{"values":[{"created_at":"2025-12-06T09:22:23Z","created_at":null}],"next_page_token":null,"has_more":null}`,
		`{"values":[{"events_created":-12,"any_changes":false}]}`,
		`{"values":[{}],"has_more":true,"next_page_token":""}`,
		`{"values":[{"job_id":"é","identity_name":"Søren \u00e9\"\ud83d\ude00","state":"\ud800"}]}`, // UTF-8, escapes, lone surrogate
		"{\"values\":[{\"job_id\":\"a\xffb\xc3\"}]}",                                                // invalid UTF-8 becomes U+FFFD
	}
	for _, body := range taken {
		if !checkFastJobs(t, []byte(body)) {
			t.Errorf("fast path refused a plain page: %s", body)
		}
	}
	slow := []string{
		`{}`,                                     // envelope rules: encoding/json's
		`{"values":null}`,                        // ditto
		`{"Values":[{"job_id":"folded key"}]}`,   // case folding
		`{"values":[{"Job_ID":"folded field"}]}`, // case folding
		`{"values":[{"job_\u0069d":"escaped"}]}`, // escaped key
		// invalid UTF-8
		`{"values":[{"job_ıd":"dotless i"}]}`, // non-ASCII key
		`{"values":[null]}`,                   // null job
		`{"values":[{"job_id":1}]}`,           // wrong type
		`{"values":[{"events_created":1.5}]}`, // fraction into int
		`{"values":[{"events_created":1e2}]}`, // exponent into int
		`{"values":[{"events_created":99999999999999999999}]}`,
		`{"values":[{"created_at":"yesterday"}]}`,   // bad time
		`{"values":[{"any_changes":"true"}]}`,       // wrong type
		`{"values":[],"values":[]}`,                 // duplicate values
		`{"values":[{"job_id":"a"}]} x`,             // trailing garbage
		`{"values":[{"job_id":"a"},]}`,              // trailing comma
		`{"values":[{"job_id":"a"}],}`,              // trailing comma
		`{"values":[{"x":01}]}`,                     // leading zero
		`{"values":[{"x":1.}]}`,                     // bad fraction
		`{"values":[{"x":tru}]}`,                    // bad literal
		"{\"values\":[{\"x\":\"tab\tin string\"}]}", // control character
		`{"values":[{"x":"\q"}]}`,                   // bad escape
		`{"values":[{"x":"\u12"}]}`,                 // short \u
		`{"values":[{"job_id":"a"}`,                 // truncated
		`{"values":[{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}]}`, // too deep
		`[{"job_id":"a"}]`,
		``,
	}
	for _, body := range slow {
		if checkFastJobs(t, []byte(body)) {
			t.Errorf("fast path took a page it must leave to encoding/json: %.80s", body)
		}
	}
}

func TestStrictValueMatchesValid(t *testing.T) {
	for _, v := range []string{
		`0`, `-0`, `-0.5e+10`, `1E5`, `"a\/b\u00e9\ud83d\ude00"`, `[]`, `{}`, `[1, [2, {"a": [ ]}]]`, ` 1`, `1 `,
		`01`, `-`, `1.`, `.5`, `1e`, `+1`, `"\x"`, `"\u00G0"`, `[1,]`, `{"a"}`, `{"a":}`, `{1:2}`, `nul`, `truee`,
		"\"\x01\"", "\"\x7f\"", "\"\xff\"", `[` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9998) + `]`,
	} {
		b := []byte(v)
		i := skipWS(b, 0)
		end, ok := strictValue(b, i)
		got := ok && skipWS(b, end) == len(b)
		if want := json.Valid(b); got != want {
			t.Errorf("strictValue(%.40q) = %v, json.Valid = %v", v, got, want)
		}
	}
}

// FuzzFastJobs: whatever the input, a page the fast path takes decodes
// exactly as encoding/json decodes it.
func FuzzFastJobs(f *testing.F) {
	f.Add([]byte(`{"values":[` + fastJob1 + `],"has_more":true,"next_page_token":"abc"}`))
	f.Add([]byte(`{"values":[{"job_id":"a","events_created":7,"created_at":"2025-12-06T09:22:23Z"}],"has_more":false}`))
	f.Add([]byte(`{"values":[{"request":{"a":[1,"\u00e9",null,true]},"result":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastJobs(t, body)
	})
}

func BenchmarkFastJobPage(b *testing.B) {
	body := []byte(`{"values":[` + fastJob1)
	for range 99 {
		body = append(body, ',')
		body = append(body, fastJob1...)
	}
	body = append(body, `],"has_more":true,"next_page_token":"abc"}`...)
	for b.Loop() {
		if _, ok := fastJobPage(body); !ok {
			b.Fatal("slow path")
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rec/s")
}

// BenchmarkJobPageDecoders compares the fast path with what it replaced
// (encoding/json into []Job plus a split of each record's bytes).
func BenchmarkJobPageDecoders(b *testing.B) {
	body := []byte(`{"values":[` + fastJob1)
	for range 99 {
		body = append(body, ',')
		body = append(body, fastJob1...)
	}
	body = append(body, `],"has_more":true,"next_page_token":"abc"}`...)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := fastJobPage(body); !ok {
				b.Fatal("slow path")
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rec/s")
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeList[Job](&Client{}, "t", body); err != nil {
				b.Fatal(err)
			}
			if _, ok := splitValues(body); !ok {
				b.Fatal("split")
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rec/s")
	})
}
