package emulator

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opsdeck/opsdeck/store/filter"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Entities served by the list endpoints.
const (
	entTasks = iota
	entActions
	entJobs
)

// listKind describes one list endpoint: its filter schema, its sort fields
// and how to turn an index into a wire record.
type listKind[T any] struct {
	ent    int
	schema *filter.Schema
	// orderBy lists the order_by fields. The first is the creation time,
	// which is index order by construction and needs no sort.
	orderBy []string
	count   func(v *view) int
	taskOf  func(g *gen, idx int) int
	item    func(m *taskMat, idx int) T
	detail  func(g *gen, m *taskMat, idx int, v *T) // nil: no details=true
	field   func(v *T, name string) (any, bool)
	// narrow returns the index range a filter can possibly match, when the
	// filter pins a parent or an id; ok=false means "anything".
	narrow func(g *gen, v *view, n filter.Node) (lo, hi int, ok bool)
}

// apiSchema is s without local-only fields (the cache can filter on them,
// the real API cannot, so neither does its emulator).
func apiSchema(s *filter.Schema, localOnly ...string) *filter.Schema {
	out := &filter.Schema{Entity: s.Entity}
	for _, f := range s.Fields {
		if !slices.Contains(localOnly, f.Name) {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

var taskKind = &listKind[veza.Task]{
	ent:     entTasks,
	schema:  apiSchema(filter.Tasks, "id", "error_message", "error_signature", "acked"),
	orderBy: []string{"t_created_at", "started_at", "completed_at"},
	count:   func(v *view) int { return v.nTasks },
	taskOf:  func(g *gen, i int) int { return i },
	item:    func(m *taskMat, i int) veza.Task { return m.task },
	field:   taskField,
}

var actionKind = &listKind[veza.Action]{
	ent:     entActions,
	schema:  apiSchema(filter.Actions, "error_message"),
	orderBy: []string{"", "started_at", "completed_at"}, // no creation time on the wire
	count:   func(v *view) int { return v.nActions },
	taskOf:  (*gen).taskOfAction,
	item:    func(m *taskMat, a int) veza.Action { return m.acts[a-m.sk.a0] },
	field:   actionField,
	narrow: func(g *gen, v *view, n filter.Node) (int, int, bool) {
		return narrowBy(n, filter.Actions, map[string]func(string) (int, int){
			"policy_task": func(id string) (int, int) {
				i, ok := g.ids.parse(kindTask, id)
				if !ok || i >= v.nTasks {
					return 0, 0
				}
				return int(g.taskAct[i]), int(g.taskAct[i+1])
			},
		})
	},
}

var jobKind = &listKind[veza.Job]{
	ent:     entJobs,
	schema:  apiSchema(filter.Jobs, "error_message", "error_signature", "acked"),
	orderBy: []string{"created_at", "started_at", "completed_at"},
	count:   func(v *view) int { return v.nJobs },
	taskOf:  (*gen).taskOfJob,
	item:    func(m *taskMat, k int) veza.Job { return m.jobs[k-m.sk.j0] },
	detail: func(g *gen, m *taskMat, k int, v *veza.Job) {
		v.Request, v.Result = g.payload(m, k-m.sk.j0)
	},
	field: jobField,
	narrow: func(g *gen, v *view, n filter.Node) (int, int, bool) {
		return narrowJobs(g, v, n, func() (int, int, bool) { // narrow_time.go
			return narrowBy(n, filter.Jobs, map[string]func(string) (int, int){
				"policy_task": func(id string) (int, int) {
					i, ok := g.ids.parse(kindTask, id)
					if !ok || i >= v.nTasks {
						return 0, 0
					}
					return int(g.actJob[g.taskAct[i]]), int(g.actJob[g.taskAct[i+1]])
				},
				"job_id": func(id string) (int, int) {
					k, ok := g.ids.parse(kindJob, id)
					if !ok || k >= v.nJobs {
						return 0, 0
					}
					return k, k + 1
				},
			})
		})
	},
}

func listTasks(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	serveList(s, w, r, taskKind)
}

func listActions(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	serveList(s, w, r, actionKind)
}

func listJobs(s *Server, w http.ResponseWriter, r *http.Request, _ []string) {
	serveList(s, w, r, jobKind)
}

// narrowBy intersects the ranges of the "field eq value" terms that are
// joined by "and" at the top of n.
func narrowBy(n filter.Node, schema *filter.Schema, pins map[string]func(string) (int, int)) (lo, hi int, ok bool) {
	var walk func(n filter.Node)
	walk = func(n filter.Node) {
		switch n := n.(type) {
		case *filter.Logical:
			if n != nil && strings.EqualFold(n.Op, "and") {
				walk(n.Left)
				walk(n.Right)
			}
		case *filter.Compare:
			if n == nil || n.Op != filter.OpEq || n.Value.Kind != filter.ValueString {
				return
			}
			f, found := schema.Field(n.Attr)
			pin := pins[f.Name]
			if !found || pin == nil {
				return
			}
			l, h := pin(n.Value.Str)
			if !ok {
				lo, hi, ok = l, h, true
			} else {
				lo, hi = max(lo, l), min(hi, h)
			}
		}
	}
	walk(n)
	if ok && hi < lo {
		hi = lo
	}
	return lo, hi, ok
}

// listQuery is a validated list request.
type listQuery struct {
	node    filter.Node
	canon   string // canonical filter text ("" = none)
	order   int    // index into listKind.orderBy
	desc    bool
	size    int
	pos     int // first position of the traversal to examine
	details bool
}

func serveList[T any](s *Server, w http.ResponseWriter, r *http.Request, k *listKind[T]) {
	q, field, err := parseListQuery(s, r, k)
	if err != nil {
		s.badRequest(w, r, field, err.Error())
		return
	}
	pred, err := filter.Predicate(q.node, k.schema)
	if err != nil { // ParseFor already validated it
		s.badRequest(w, r, "filter", err.Error())
		return
	}
	g := s.g
	v := s.view()
	n := k.count(&v)
	var ord *ordering
	if q.order > 0 {
		ord = s.order(k.ent, k.orderBy[q.order], &v)
	}
	at := func(p int) int {
		if q.desc {
			p = n - 1 - p
		}
		if ord != nil {
			return ord.at(p)
		}
		return p
	}
	start, end := 0, n
	if ord == nil && k.narrow != nil {
		if lo, hi, ok := k.narrow(g, &v, q.node); ok {
			lo, hi = min(lo, n), min(hi, n)
			start, end = lo, hi
			if q.desc {
				start, end = n-hi, n-lo
			}
		}
	}
	setHere(r, func() string { return s.encodeToken(k.ent, q, q.pos) })

	page := veza.ListPage[T]{Values: make([]T, 0, q.size)}
	cache := matCache{g: g, at: v.at}
	var cur T
	get := func(name string) (any, bool) { return k.field(&cur, name) }
	budget := s.scanBudget
	next := -1         // position of the first match after a full page
	var detailed []int // with details: the index of each page value
	p := max(q.pos, start)
	for ; p < end && budget > 0; p++ {
		budget--
		idx := at(p)
		m := cache.task(k.taskOf(g, idx))
		cur = k.item(m, idx)
		if !pred(get) {
			continue
		}
		if len(page.Values) == q.size {
			next = p
			break
		}
		if q.details && k.detail != nil {
			detailed = append(detailed, idx)
		}
		page.Values = append(page.Values, cur)
	}
	fillDetails(g, v.at, k, page.Values, detailed)
	s.examined.Add(int64(s.scanBudget - budget))
	switch {
	case next >= 0:
		page.HasMore, page.NextPageToken = true, s.encodeToken(k.ent, q, next)
	case p < end: // out of budget: resume where the scan stopped
		page.HasMore, page.NextPageToken = true, s.encodeToken(k.ent, q, p)
	}
	writeListPage(w, &page) // jobpage.go
}

// parseListQuery validates the query parameters; on error it returns the
// parameter to blame.
func parseListQuery[T any](s *Server, r *http.Request, k *listKind[T]) (q listQuery, field string, err error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, "query", fmt.Errorf("malformed query string: %v", err)
	}
	q.size = defaultPageSize
	if v := vals.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, "page_size", fmt.Errorf("page_size must be a non-negative integer, got %q", v)
		}
		if n > 0 {
			q.size = n
		}
	}
	q.size = min(q.size, s.pageSizeMax)
	if v := vals.Get("details"); v != "" {
		if q.details, err = strconv.ParseBool(v); err != nil {
			return q, "details", fmt.Errorf("details must be true or false, got %q", v)
		}
	}
	hasFilter := vals.Has("filter")
	if hasFilter {
		if q.node, err = filter.ParseFor(vals.Get("filter"), k.schema); err != nil {
			return q, "filter", err
		}
		if q.node != nil {
			q.canon = q.node.String()
		}
	}
	hasOrder := vals.Get("order_by") != ""
	if hasOrder {
		if q.order, q.desc, err = parseOrderBy(vals.Get("order_by"), k.orderBy); err != nil {
			return q, "order_by", err
		}
	}
	tok := vals.Get("page_token")
	if tok == "" {
		return q, "", nil
	}
	t, err := s.decodeToken(tok)
	if err != nil || t.ent != k.ent || t.order >= len(k.orderBy) {
		return q, "page_token", errors.New("invalid page token")
	}
	if hasFilter && t.canon != q.canon {
		return q, "page_token", errors.New("page token was issued for a different filter")
	}
	if hasOrder && (t.order != q.order || t.desc != q.desc) {
		return q, "page_token", errors.New("page token was issued for a different order_by")
	}
	if !hasFilter && t.canon != "" {
		if q.node, err = filter.ParseFor(t.canon, k.schema); err != nil {
			return q, "page_token", errors.New("invalid page token")
		}
		q.canon = t.canon
	}
	q.order, q.desc, q.pos = t.order, t.desc, t.pos
	return q, "", nil
}

// parseOrderBy parses "<field> [asc|desc]".
func parseOrderBy(v string, fields []string) (order int, desc bool, err error) {
	parts := strings.Fields(v)
	if len(parts) == 0 || len(parts) > 2 {
		return 0, false, fmt.Errorf("order_by must be \"<field> asc|desc\", got %q", v)
	}
	if len(parts) == 2 {
		switch strings.ToLower(parts[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return 0, false, fmt.Errorf("order_by direction must be asc or desc, got %q", parts[1])
		}
	}
	for i, f := range fields {
		if f != "" && f == parts[0] {
			return i, desc, nil
		}
	}
	var names []string
	for _, f := range fields {
		if f != "" {
			names = append(names, f)
		}
	}
	return 0, false, fmt.Errorf("cannot order by %q; use one of %s", parts[0], strings.Join(names, ", "))
}

// pageToken is the decoded content of a next_page_token: where to resume
// and the query it belongs to. Tokens are URL-safe base64 with a MAC, so a
// made-up or truncated token is rejected instead of misread.
type pageToken struct {
	ent   int
	order int
	desc  bool
	pos   int
	canon string
}

const tokenVersion = 1

func (s *Server) encodeToken(ent int, q listQuery, pos int) string {
	b := []byte{tokenVersion, byte(ent), byte(q.order)}
	if q.desc {
		b[2] |= 0x80
	}
	b = binary.AppendUvarint(b, uint64(pos))
	b = append(b, q.canon...)
	b = binary.BigEndian.AppendUint64(b, s.mac(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeToken(tok string) (pageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 4+8 || b[0] != tokenVersion {
		return pageToken{}, errors.New("malformed")
	}
	body, sum := b[:len(b)-8], binary.BigEndian.Uint64(b[len(b)-8:])
	if s.mac(body) != sum {
		return pageToken{}, errors.New("bad checksum")
	}
	t := pageToken{ent: int(body[1]), order: int(body[2] & 0x7f), desc: body[2]&0x80 != 0}
	pos, n := binary.Uvarint(body[3:])
	if n <= 0 || pos > 1<<40 {
		return pageToken{}, errors.New("bad position")
	}
	t.pos = int(pos)
	t.canon = string(body[3+n:])
	return t, nil
}

func (s *Server) mac(b []byte) uint64 {
	h := s.macKey
	for _, c := range b {
		h = mix64(h ^ uint64(c))
	}
	return mix64(h ^ uint64(len(b)))
}

// permKey names a sort order that is not index order.
type permKey struct {
	ent   int
	field string
}

// sortedPerm is the base records of one kind sorted by a time field, the
// records with the time unset first.
type sortedPerm struct {
	perm  []int32
	unset int
}

// perm returns the base indexes of ent sorted by field ascending (unset
// times first, ties by index), building it on first use: 4 bytes per record.
func (s *Server) perm(ent int, field string) sortedPerm {
	s.permMu.Lock()
	defer s.permMu.Unlock()
	key := permKey{ent, field}
	if p, ok := s.perms[key]; ok {
		return p
	}
	g := s.g
	size := map[int]int{entTasks: g.nTasks, entActions: g.nActions, entJobs: g.nJobs}[ent]
	keys := make([]uint64, 0, size)
	pack := func(ms int64, idx int) uint64 {
		var off uint64
		if ms != 0 {
			off = uint64(min(max(ms-g.startMs+1, 1), 1<<32-1))
		}
		return off<<32 | uint64(idx)
	}
	pick := func(started, completed int64) int64 {
		if field == "started_at" {
			return started
		}
		return completed
	}
	var t taskSk
	for i := 0; i < g.nTasks; i++ {
		g.skel(i, &t)
		switch ent {
		case entTasks:
			keys = append(keys, pack(pick(t.started, t.completed), i))
		case entActions:
			for p := 0; p < t.na; p++ {
				keys = append(keys, pack(pick(t.acts[p].started, t.acts[p].completed), t.a0+p))
			}
		case entJobs:
			for j := 0; j < t.nj; j++ {
				keys = append(keys, pack(pick(t.jobs[j].started, t.jobs[j].completed), t.j0+j))
			}
		}
	}
	slices.Sort(keys)
	sp := sortedPerm{perm: make([]int32, len(keys))}
	for i, k := range keys {
		sp.perm[i] = int32(uint32(k))
		if k>>32 == 0 {
			sp.unset++
		}
	}
	s.perms[key] = sp
	return sp
}

// Field getters for filter.Predicate, by filter field name (= JSON name).

func taskField(t *veza.Task, name string) (any, bool) {
	switch name {
	case "id":
		return t.ID, true
	case "state":
		return t.State, true
	case "policy_id":
		return t.PolicyID, true
	case "workflow":
		return t.Workflow, true
	case "identity_id":
		return t.IdentityID, true
	case "identity_name":
		return t.IdentityName, true
	case "started_at":
		return t.StartedAt, true
	case "completed_at":
		return t.CompletedAt, true
	case "scheduled_at":
		return t.ScheduledAt, true
	case "t_created_at":
		return t.TCreatedAt, true
	case "t_updated_at":
		return t.TUpdatedAt, true
	case "any_changes":
		return t.AnyChanges, true
	case "dry_run":
		return t.DryRun, true
	case "priority":
		return t.Priority, true
	case "error_message":
		return strings.Join(t.Messages, "\n"), true
	}
	return nil, false
}

func actionField(a *veza.Action, name string) (any, bool) {
	switch name {
	case "state":
		return a.State, true
	case "policy_task":
		return a.PolicyTask, true
	case "action_name":
		return a.ActionName, true
	case "action_type":
		return a.ActionType, true
	case "policy_id":
		return a.PolicyID, true
	case "workflow_name":
		return a.WorkflowName, true
	case "identity_id":
		return a.IdentityID, true
	case "identity_name":
		return a.IdentityName, true
	case "started_at":
		return a.StartedAt, true
	case "completed_at":
		return a.CompletedAt, true
	case "any_changes":
		return a.AnyChanges, true
	case "extraction_event":
		return a.ExtractionEvent, true
	case "jobs_started":
		return a.JobsStarted, true
	case "error_message":
		return a.ErrorMessage, true
	}
	return nil, false
}

func jobField(j *veza.Job, name string) (any, bool) {
	switch name {
	case "state":
		return j.State, true
	case "job_id":
		return j.JobID, true
	case "policy_task":
		return j.PolicyTask, true
	case "action_name":
		return j.ActionName, true
	case "action_type":
		return j.ActionType, true
	case "policy_id":
		return j.PolicyID, true
	case "workflow_name":
		return j.WorkflowName, true
	case "identity_id":
		return j.IdentityID, true
	case "identity_name":
		return j.IdentityName, true
	case "event_source":
		return j.EventSource, true
	case "event_source_id":
		return j.EventSourceID, true
	case "extraction_event":
		return j.ExtractionEvent, true
	case "extraction_event_type":
		return j.ExtractionEventType, true
	case "started_at":
		return j.StartedAt, true
	case "completed_at":
		return j.CompletedAt, true
	case "created_at":
		return j.CreatedAt, true
	case "any_changes":
		return j.AnyChanges, true
	case "events_created":
		return j.EventsCreated, true
	}
	return nil, false
}

// fillDetails adds the details (job payloads) of vals, whose indexes are
// idx (nil: none asked), on up to GOMAXPROCS goroutines: generating them
// is most of the emulator's work, and while one page is generated the
// client is waiting for it. Each goroutine takes a contiguous run of the
// page with its own matCache (the list's cache has reused its slots by
// now); the output does not depend on how the page is split.
func fillDetails[T any](g *gen, at int64, k *listKind[T], vals []T, idx []int) {
	if len(idx) == 0 {
		return
	}
	fill := func(lo, hi int) {
		cache := matCache{g: g, at: at}
		for j := lo; j < hi; j++ {
			k.detail(g, cache.task(k.taskOf(g, idx[j])), idx[j], &vals[j])
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(idx)/minDetailRun)
	if workers < 2 {
		fill(0, len(idx))
		return
	}
	var wg sync.WaitGroup
	per := (len(idx) + workers - 1) / workers
	for lo := 0; lo < len(idx); lo += per {
		hi := min(lo+per, len(idx))
		wg.Add(1)
		go func() {
			defer wg.Done()
			fill(lo, hi)
		}()
	}
	wg.Wait()
}

// minDetailRun is the fewest payloads worth a goroutine.
const minDetailRun = 16
