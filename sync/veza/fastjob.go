package veza

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The jobs list fast path. A sync decodes a million jobs with payloads, and
// encoding/json spent ~30 µs on each (validate the page, decode, copy the
// payloads, then split out each record's bytes): a third of the sync's CPU
// (profile of BenchmarkSyncJobsCanned). This decoder validates and decodes
// in one pass of plain byte loops, and the payloads and each record's raw
// bytes are slices of the response body instead of copies.
//
// It takes only the shape a server sends: exact lower-case keys, times as
// plain strings, integers as plain digits. Anything else (a wrong type, an escaped or case-folded key,
// a duplicate "values", a null job, invalid JSON) makes it give up, and the
// caller decodes the page with encoding/json, whose result and errors are
// the reference (TestFastJobsMatchEncodingJSON, FuzzFastJobs).

// fastJobPage decodes a list page of jobs; ok false means "use the slow
// path", never an error of its own.
func fastJobPage(body []byte) (page ListPage[Record[Job]], ok bool) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return page, false
	}
	var sawValues, sawEnvelope bool
	i = skipWS(body, i+1)
	if i < len(body) && body[i] == '}' {
		return page, false // "{}": rare, let the slow path judge it
	}
	for {
		key, next, ok := fastKey(body, i)
		if !ok {
			return page, false
		}
		i = next
		var end int
		switch string(key) {
		case "values":
			if sawValues {
				return page, false
			}
			sawValues = true
			if i < len(body) && body[i] == 'n' {
				if end, ok = literal(body, i, "null"); !ok {
					return page, false
				}
				break
			}
			sawEnvelope = true
			if page.Values, end, ok = fastJobArray(body, i); !ok {
				return page, false
			}
		case "has_more":
			switch {
			case bytes.HasPrefix(body[i:], []byte("true")):
				page.HasMore, end, sawEnvelope = true, i+4, true
			case bytes.HasPrefix(body[i:], []byte("false")):
				page.HasMore, end, sawEnvelope = false, i+5, true
			case bytes.HasPrefix(body[i:], []byte("null")):
				end = i + 4
			default:
				return page, false
			}
		case "next_page_token":
			if bytes.HasPrefix(body[i:], []byte("null")) {
				end = i + 4
				break
			}
			var s string
			if s, end, ok = fastString(body, i); !ok {
				return page, false
			}
			page.NextPageToken, sawEnvelope = s, true
		default:
			if foldsToAny(key, envelopeKeys) {
				return page, false
			}
			if end, ok = strictValue(body, i); !ok {
				return page, false
			}
		}
		i = skipWS(body, end)
		if i >= len(body) {
			return page, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return page, false
		}
		i = skipWS(body, i+1)
	}
	if skipWS(body, i+1) != len(body) || !sawEnvelope {
		return page, false
	}
	return page, true
}

var envelopeKeys = []string{"values", "has_more", "next_page_token"}

// fastKey reads `"key" :` at b[i] and returns the key and the index of the
// value (whitespace skipped). Keys with escapes are refused.
func fastKey(b []byte, i int) (key []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	end, class, ok := strictString(b, i)
	if !ok || class&strEscaped != 0 {
		return nil, i, false
	}
	key = b[i+1 : end-1]
	i = skipWS(b, end)
	if i >= len(b) || b[i] != ':' {
		return nil, i, false
	}
	return key, skipWS(b, i+1), true
}

// foldsToAny reports whether key could be one of names for encoding/json,
// which matches keys case-insensitively (with Unicode folding, hence any
// non-ASCII key counts).
func foldsToAny(key []byte, names []string) bool {
	for _, c := range key {
		if c >= 0x80 {
			return true
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

func fastJobArray(b []byte, i int) ([]Record[Job], int, bool) {
	if i >= len(b) || b[i] != '[' {
		return nil, i, false
	}
	out := make([]Record[Job], 0, 100)
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return out, i + 1, true
	}
	for {
		start := i
		var ok bool
		out = append(out, Record[Job]{})
		rec := &out[len(out)-1]
		if i, ok = fastJob(b, i, &rec.Value); !ok {
			return nil, i, false
		}
		rec.Raw = json.RawMessage(b[start:i:i])
		var done bool
		if i, done, ok = afterElem(b, i, ']'); !ok {
			return nil, i, false
		} else if done {
			return out, i, true
		}
	}
}

var jobKeys = []string{"job_id", "state", "policy_task", "action_name", "action_type", "policy_id", "workflow_name",
	"identity_id", "identity_name", "event_source", "event_source_id", "extraction_event", "extraction_event_type",
	"started_at", "completed_at", "created_at", "any_changes", "events_created", "request", "result"}

// fastJob decodes the job object at b[i] into j, as encoding/json would.
func fastJob(b []byte, i int, j *Job) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		key, next, ok := fastKey(b, i)
		if !ok {
			return i, false
		}
		i = next
		var end int
		var s *string
		var t **time.Time
		switch string(key) {
		case "job_id":
			s = &j.JobID
		case "state":
			s = &j.State
		case "policy_task":
			s = &j.PolicyTask
		case "action_name":
			s = &j.ActionName
		case "action_type":
			s = &j.ActionType
		case "policy_id":
			s = &j.PolicyID
		case "workflow_name":
			s = &j.WorkflowName
		case "identity_id":
			s = &j.IdentityID
		case "identity_name":
			s = &j.IdentityName
		case "event_source":
			s = &j.EventSource
		case "event_source_id":
			s = &j.EventSourceID
		case "extraction_event":
			s = &j.ExtractionEvent
		case "extraction_event_type":
			s = &j.ExtractionEventType
		case "started_at":
			t = &j.StartedAt
		case "completed_at":
			t = &j.CompletedAt
		case "created_at":
			t = &j.CreatedAt
		case "any_changes":
			if end, ok = fastBool(b, i, &j.AnyChanges); !ok {
				return i, false
			}
		case "events_created":
			if end, ok = fastInt(b, i, &j.EventsCreated); !ok {
				return i, false
			}
		case "request", "result":
			if end, ok = strictValue(b, i); !ok {
				return i, false
			}
			raw := json.RawMessage(b[i:end:end])
			if key[1] == 'e' && key[2] == 'q' {
				j.Request = raw
			} else {
				j.Result = raw
			}
		default:
			if foldsToAny(key, jobKeys) {
				return i, false
			}
			if end, ok = strictValue(b, i); !ok {
				return i, false
			}
		}
		switch {
		case s != nil:
			if bytes.HasPrefix(b[i:], []byte("null")) {
				end = i + 4 // null leaves a string as it is
				break
			}
			if *s, end, ok = fastString(b, i); !ok {
				return i, false
			}
		case t != nil:
			if bytes.HasPrefix(b[i:], []byte("null")) {
				*t, end = nil, i+4
				break
			}
			if end, ok = fastTime(b, i, t); !ok {
				return i, false
			}
		}
		var done bool
		if i, done, ok = afterElem(b, end, '}'); !ok || done {
			return i, ok
		}
	}
}

// fastString decodes a string. Plain ASCII and valid UTF-8 are taken as
// they are; a string with escapes or invalid UTF-8 (which encoding/json
// replaces with U+FFFD) is decoded by encoding/json itself.
func fastString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	end, class, ok := strictString(b, i)
	if !ok {
		return "", i, false
	}
	if class == strPlain || class == strHigh && utf8.Valid(b[i+1:end-1]) {
		return string(b[i+1 : end-1]), end, true
	}
	var s string
	if json.Unmarshal(b[i:end], &s) != nil {
		return "", i, false
	}
	return s, end, true
}

func fastTime(b []byte, i int, t **time.Time) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	end, class, ok := strictString(b, i)
	if !ok || class != strPlain {
		return i, false
	}
	v := new(time.Time)
	if err := v.UnmarshalJSON(b[i:end]); err != nil {
		return i, false
	}
	*t = v
	return end, true
}

func fastBool(b []byte, i int, v *bool) (int, bool) {
	switch {
	case bytes.HasPrefix(b[i:], []byte("true")):
		*v = true
		return i + 4, true
	case bytes.HasPrefix(b[i:], []byte("false")):
		*v = false
		return i + 5, true
	case bytes.HasPrefix(b[i:], []byte("null")):
		return i + 4, true
	}
	return i, false
}

// fastInt takes -?[0-9]+ that fits an int; encoding/json refuses a
// fraction or exponent for an int field, so those go to the slow path.
func fastInt(b []byte, i int, v *int) (int, bool) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return i + 4, true
	}
	end, ok := strictNumber(b, i)
	if !ok {
		return i, false
	}
	n, err := strconv.ParseInt(string(b[i:end]), 10, strconv.IntSize)
	if err != nil {
		return i, false
	}
	*v = int(n)
	return end, true
}
