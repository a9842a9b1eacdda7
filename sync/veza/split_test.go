package veza

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestSplitMatchesRecordDecode checks the fast path against decoding into
// Record (the reference) on awkward but valid pages.
func TestSplitMatchesRecordDecode(t *testing.T) {
	c := &Client{}
	pages := []string{
		`{"values":[],"has_more":false}`,
		`{"values":null}`,
		`{}`,
		`{"has_more":true,"next_page_token":"t","values":[{"job_id":"a"}]}`,
		" {\n \"values\" : [ {\"job_id\" : \"a\", \"x\": [1, {\"y\": \"]}\\\"[{\"}], \"n\": -1.5e3} ,\t{\"job_id\":\"b\",\"t\":true,\"f\":null}\r\n] , \"has_more\" : false } ",
		`{"values":[{"job_id":"é\u00e9\\\\","q":"a,b}"},{"job_id":"c"}],"next_page_token":"x,]}"}`,
		`{"Values":[{"job_id":"folded key"}]}`,
		`{"values":[{"job_id":"q\\\"}{[","x":"\\"},{"job_id":"\\\\"}]}`,
		`{"values":[{"job_id":"first"}],"values":[{"job_id":"dup1"},{"job_id":"dup2"}]}`,
		`{"va\u006cues":[{"job_id":"escaped key"}]}`,
		`{"other":{"values":[1,2,3]},"values":[{"job_id":"nested decoy"}]}`,
	}
	for _, body := range pages {
		got, err := decodeRecords[Job](c, "t", []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		want, err := decodeList[Record[Job]](c, "t", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Values) != len(want.Values) || got.HasMore != want.HasMore || got.NextPageToken != want.NextPageToken {
			t.Fatalf("%s:\n got %+v\nwant %+v", body, got, want)
		}
		for i := range got.Values {
			g, w := got.Values[i], want.Values[i]
			if string(g.Raw) != string(w.Raw) || fmt.Sprint(g.Value) != fmt.Sprint(w.Value) {
				t.Errorf("%s: value %d:\n got %s %+v\nwant %s %+v", body, i, g.Raw, g.Value, w.Raw, w.Value)
			}
		}
	}
}

func TestSplitRawDoesNotShareCapacity(t *testing.T) {
	body := []byte(`{"values":[{"job_id":"a"},{"job_id":"b"}]}`)
	p, err := decodeRecords[Job](&Client{}, "t", body)
	if err != nil {
		t.Fatal(err)
	}
	// Appending to one raw must not overwrite its neighbour.
	_ = append(p.Values[0].Raw, 'X')
	var j Job
	if err := json.Unmarshal(p.Values[1].Raw, &j); err != nil || string(body) != `{"values":[{"job_id":"a"},{"job_id":"b"}]}` {
		t.Fatalf("raw aliasing broke the body: %s", body)
	}
}

func BenchmarkDecodePage(b *testing.B) {
	one := `{"job_id":"b1dc9bd1-3913-4d14-afcb-c30bb75466f8","state":"SKIPPED","policy_task":"c59560c6-4cf6-4b7c-bcad-7a7ddf20c906","action_name":"Sync Job Title to AD","created_at":"2025-12-06T09:22:23.311Z","started_at":"2025-12-06T09:22:23.39Z",` +
		`"request":{"data_source":{"id":"d9fcfc12","type":"ACTIVE_DIRECTORY","config":{"base_dn":"DC=corp,DC=example,DC=com","use_ssl":true}},"input_entities":[{"entity_type":"ActiveDirectoryUser","attributes":{"cost_center":"CC-1040","department":"IT","display_name":"Søren Dubois","email":"sdubois@example.com","employee_id":"679603","first_name":"Søren","is_active":true,"last_name":"Dubois","location":"New York, NY","title":"Site Reliability Engineer","userAccountControl":514}}],"action_type":"SYNC_IDENTITIES"},` +
		`"result":{"output_entities":[],"error_messages":[],"any_changes":false,"any_created":false}}`
	body := []byte(`{"values":[` + one)
	for range 99 {
		body = append(body, ',')
		body = append(body, one...)
	}
	body = append(body, `],"has_more":true,"next_page_token":"abc"}`...)
	c := &Client{}
	b.Run("split", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeRecords[Job](c, "t", body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rec/s")
	})
	b.Run("record", func(b *testing.B) {
		for b.Loop() {
			if _, err := decodeList[Record[Job]](c, "t", body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "rec/s")
	})
}

func TestRecordMarshal(t *testing.T) {
	b, err := json.Marshal([]Record[Job]{{Raw: json.RawMessage(`{"job_id":"raw", "x":1}`)}, {Value: Job{JobID: "built"}}})
	if err != nil {
		t.Fatal(err)
	}
	var back []Job
	if err := json.Unmarshal(b, &back); err != nil || back[0].JobID != "raw" || back[1].JobID != "built" {
		t.Fatalf("%s %v", b, err)
	}
}
