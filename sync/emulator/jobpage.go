package emulator

import (
	"encoding/json"

	gojson "github.com/goccy/go-json"
	"net/http"
	"strconv"

	"github.com/opsdeck/opsdeck/sync/veza"
)

// writeListPage writes a list page. A page of jobs with payloads is most of
// what a sync asks for, and encoding/json spent a third of the emulator's
// time on it re-validating and re-compacting each job's request and result,
// which payload() has just produced with json.Marshal. Here each job is
// marshalled without them and their bytes are appended as they are: the
// output is byte for byte what json.Marshal(page) writes (request and
// result are the last fields of veza.Job), see TestJobPageBytes.
func writeListPage[T any](w http.ResponseWriter, page *veza.ListPage[T]) {
	jp, ok := any(page).(*veza.ListPage[veza.Job])
	if !ok {
		writeJSON(w, http.StatusOK, page)
		return
	}
	b, err := appendJobPage(make([]byte, 0, 256<<10), jp)
	if err != nil {
		writeJSON(w, http.StatusOK, page)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func appendJobPage(b []byte, p *veza.ListPage[veza.Job]) ([]byte, error) {
	if p.Values == nil {
		b = append(b, `{"values":null`...)
	} else {
		b = append(b, `{"values":[`...)
		for i := range p.Values {
			if i > 0 {
				b = append(b, ',')
			}
			j := p.Values[i]
			req, res := j.Request, j.Result
			j.Request, j.Result = nil, nil
			one, err := gojson.Marshal(&j)
			if err != nil {
				return nil, err
			}
			b = append(b, one[:len(one)-1]...) // without the closing brace
			for _, m := range []struct {
				key string
				raw json.RawMessage
			}{{"request", req}, {"result", res}} {
				if len(m.raw) == 0 {
					continue // omitempty
				}
				b = append(b, `,"`...)
				b = append(b, m.key...)
				b = append(b, `":`...)
				b = append(b, m.raw...)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"has_more":`...)
	b = strconv.AppendBool(b, p.HasMore)
	tok, err := json.Marshal(p.NextPageToken)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"next_page_token":`...)
	b = append(b, tok...)
	return append(b, '}'), nil
}
