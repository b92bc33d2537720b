// Package triage decides, for every inbound customer message, whether it
// needs a response, its buying stage and owning department, its sentiment,
// any crisis signal that calls for escalation, and which listening keywords
// it mentions.
//
// Every decision is explainable: the Result carries Reasons that name the
// rule and the words of the message that led to it. The rules are simple
// cue lists (lexicon.go) plus the guideline pack's crisis and listening
// keywords; sentiment is VADER, a lexicon method made for social media text.
package triage

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/care/internal/textmatch"
	"github.com/jonreiter/govader"
)

// Input is what triage looks at.
type Input struct {
	Text     string
	Kind     string // comment, dm, mention, review
	Platform string
	Rating   int // 1-5 for reviews, 0 when none
}

// Reason explains one decision: which field, which rule, the value it gave
// and the words that triggered it.
type Reason struct {
	Field string   `json:"field"`
	Rule  string   `json:"rule"`
	Value string   `json:"value"`
	Words []string `json:"words,omitempty"`
}

// Hit is one listening keyword found in a message.
type Hit struct {
	Group   string `json:"group"` // brand, products or competitors
	Keyword string `json:"keyword"`
}

// Result is the triage of one message.
type Result struct {
	NeedsResponse bool     `json:"needs_response"`
	Stage         string   `json:"stage"`
	Department    string   `json:"department"`
	Sentiment     float64  `json:"sentiment"`
	Crisis        string   `json:"crisis"` // "" when none
	Listening     []Hit    `json:"listening,omitempty"`
	Priority      int      `json:"priority"`
	Reasons       []Reason `json:"reasons"`
}

// Crisis categories in order of seriousness; the first one found wins.
var crisisOrder = []string{"injury", "food_safety", "discrimination", "legal", "press"}

// Triager triages messages against one guideline pack. It is safe for
// concurrent use.
type Triager struct {
	cues     map[string]*textmatch.Matcher
	allCues  *textmatch.Matcher
	cueOwner []string // phrase index in allCues → cue list
	notJobs  *textmatch.Matcher
	vader    *govader.SentimentIntensityAnalyzer
	// brandHandles are the brand's listening keywords squeezed into handle
	// form ("copperkettle"): a mention of such a handle is to us.
	brandHandles []string
}

// vaderAnalyzer is built once: its lexicon takes a few milliseconds to
// load. It is VADER with a food-service extension (lexicon.go).
var vaderAnalyzer = func() *govader.SentimentIntensityAnalyzer {
	sia := govader.NewSentimentIntensityAnalyzer()
	for w, v := range domainLexicon {
		sia.Lexicon[w] = v
	}
	for e, w := range emojiWords {
		sia.EmojiDict[e] = w
	}
	return sia
}()

// New builds a triager for pack.
func New(pack *guidelines.Pack) *Triager {
	t := &Triager{
		cues:    make(map[string]*textmatch.Matcher, len(cueLists)),
		notJobs: textmatch.New([]string{"great job", "good job", "nice job", "amazing job", "awesome job", "fantastic job", "excellent job", "job well done", "what a job"}),
		vader:   vaderAnalyzer,
	}
	// All cue lists, crisis and listening keywords in one matcher, so a
	// message is scanned once.
	var all []string
	add := func(owner string, phrases []string) {
		for _, ph := range phrases {
			all = append(all, ph)
			t.cueOwner = append(t.cueOwner, owner)
		}
	}
	for _, name := range cueNames {
		add(name, cueLists[name])
	}
	for _, c := range pack.Crisis {
		add("crisis:"+c.Category, c.Keywords)
	}
	for _, g := range listenGroups {
		add("listen:"+g, pack.Listening.Group(g))
	}
	t.cues["question_start"] = textmatch.New(cueLists["question_start"])
	t.allCues = textmatch.New(all)
	for _, b := range pack.Listening.Brand {
		var sb strings.Builder
		for _, tk := range textmatch.Tokenize(b) {
			if tk.Word {
				sb.WriteString(tk.Text)
			}
		}
		if sb.Len() >= 4 {
			t.brandHandles = append(t.brandHandles, sb.String())
		}
	}
	return t
}

// cueHits is what one cue list found in a message.
type cueHits struct {
	words []string
	score int // sum of the matched phrases' token counts
}

func (h cueHits) any() bool { return len(h.words) > 0 }

// cueNames are the cue lists, in a fixed order.
var cueNames = func() []string {
	names := make([]string, 0, len(cueLists))
	for name := range cueLists {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}()

// scan finds every cue list's phrases in one pass.
func (t *Triager) scan(toks []textmatch.Token) map[string]*cueHits {
	hits := make(map[string]*cueHits, 8)
	var seen []int
	t.allCues.Each(toks, func(mt textmatch.Match) bool {
		if slices.Contains(seen, mt.Phrase) {
			return true
		}
		seen = append(seen, mt.Phrase)
		list := t.cueOwner[mt.Phrase]
		h := hits[list]
		if h == nil {
			h = &cueHits{}
			hits[list] = h
		}
		h.words = append(h.words, t.allCues.Phrase(mt.Phrase))
		h.score += mt.Last - mt.First + 1
		return true
	})
	return hits
}

func get(hits map[string]*cueHits, list string) cueHits {
	if h := hits[list]; h != nil {
		return *h
	}
	return cueHits{}
}

// cues is everything the cue lists found in one message.
type cues struct {
	spam, jobs, purchase, pre, future, post, postWeak, subject, pastTime, mkt, complaint, careReq, request, thanks, crowd, pr cueHits
	question                                                                                                                  bool
	questionWords                                                                                                             []string
	// products is true when a listening product keyword was found.
	products bool
	// press is true when the press keywords match, whatever the crisis
	// category that won.
	press bool
	// friends is true when the message tags friends and says little else.
	friends bool
}

// Triage decides about one message.
func (t *Triager) Triage(in Input) Result {
	toks := textmatch.Tokenize(in.Text)
	var r Result
	reason := func(field, rule, value string, words ...string) {
		r.Reasons = append(r.Reasons, Reason{Field: field, Rule: rule, Value: value, Words: words})
	}

	h := t.scan(toks)
	c := cues{
		spam: get(h, "spam"), jobs: get(h, "jobs"), purchase: get(h, "purchase"),
		pre: get(h, "pre_purchase"), future: get(h, "future"), careReq: get(h, "care_request"), post: get(h, "post_purchase"), postWeak: get(h, "post_weak"),
		subject: get(h, "experience_subject"), pastTime: get(h, "past_time"),
		mkt: get(h, "marketing_topic"), complaint: get(h, "complaint"), request: get(h, "request"),
		thanks: get(h, "thanks"), crowd: get(h, "crowd_question"), pr: get(h, "pr_topic"),
	}
	if c.jobs.any() && t.notJobs.ContainsAny(toks) {
		c.jobs.words = slices.DeleteFunc(c.jobs.words, func(w string) bool { return w == "job" })
		if len(c.jobs.words) == 0 {
			c.jobs.score = 0
		}
	}
	c.question, c.questionWords = t.isQuestion(in.Text, toks)
	c.friends = t.tagsOnlyFriends(toks)

	raw := t.rawSentiment(in)
	t.findCrisis(h, &r, reason, c, raw)
	c.press = h["crisis:press"] != nil
	t.findListening(h, &r, reason, &c)

	t.stage(in, &r, reason, c)
	r.Sentiment = t.adjustSentiment(in, &r, reason, c, raw)
	t.department(in, &r, reason, c, len(toks))
	t.needsResponse(in, toks, &r, reason, c)
	r.Priority = priority(r, in)
	return r
}

// gratefulFrom is the sentiment above which a thank-you with no complaint
// in it does not raise an injury or food-safety signal: "after a rough day
// at the hospital, Sam gave us free shakes, thank you" is not a report.
const gratefulFrom = 0.5

func (t *Triager) findCrisis(h map[string]*cueHits, r *Result, reason func(string, string, string, ...string), c cues, raw float64) {
	thanked := slices.ContainsFunc(c.thanks.words, func(w string) bool {
		return strings.HasPrefix(w, "thank") || strings.HasPrefix(w, "appreciat") || strings.HasPrefix(w, "grateful")
	})
	grateful := thanked && !c.complaint.any() && !c.careReq.any() && raw >= gratefulFrom
	for _, cat := range crisisOrder {
		if hit := h["crisis:"+cat]; hit != nil {
			if grateful && (cat == "injury" || cat == "food_safety") {
				reason("crisis", "grateful-not-a-report", "", hit.words...)
				continue
			}
			r.Crisis = cat
			reason("crisis", "crisis-keywords:"+cat, cat, hit.words...)
			return
		}
	}
}

// listenGroups are the listening keyword groups, in report order.
var listenGroups = []string{"brand", "products", "competitors"}

func (t *Triager) findListening(h map[string]*cueHits, r *Result, reason func(string, string, string, ...string), c *cues) {
	for _, g := range listenGroups {
		hit := h["listen:"+g]
		if hit == nil {
			continue
		}
		for _, kw := range hit.words {
			r.Listening = append(r.Listening, Hit{Group: g, Keyword: kw})
		}
		reason("listening", "listening:"+g, g, hit.words...)
		if g == "products" {
			c.products = true
		}
	}
}

func (t *Triager) stage(in Input, r *Result, reason func(string, string, string, ...string), c cues) {
	postScore := 2*c.post.score + c.postWeak.score
	afterVisit := c.subject.any() || c.products
	switch {
	case c.spam.any():
		r.Stage = "none"
		reason("stage", "spam", "none", c.spam.words...)
	case c.press:
		r.Stage = "none"
		reason("stage", "press-enquiry", "none")
	case c.jobs.score > 0:
		r.Stage = "none"
		reason("stage", "jobs", "none", c.jobs.words...)
	case c.pr.any():
		r.Stage = "none"
		reason("stage", "creator-enquiry", "none", c.pr.words...)
	case in.Kind == "review":
		r.Stage = "post_purchase"
		reason("stage", "review", "post_purchase")
	case r.Crisis != "":
		r.Stage = "post_purchase"
		reason("stage", "crisis-after-visit", "post_purchase", r.Crisis)
	case c.purchase.any() && c.pastTime.any():
		r.Stage = "post_purchase"
		reason("stage", "past-order-problem", "post_purchase", append(c.purchase.words, c.pastTime.words...)...)
	case c.purchase.any() && c.purchase.score*2 >= postScore:
		r.Stage = "purchase"
		reason("stage", "purchase-cues", "purchase", c.purchase.words...)
	case c.crowd.any():
		r.Stage = "none"
		reason("stage", "crowd-question", "none", c.crowd.words...)
	case c.friends:
		r.Stage = "none"
		reason("stage", "tagging-friends", "none")
	case postScore > 0 && c.complaint.any():
		r.Stage = "post_purchase"
		reason("stage", "post-purchase-complaint", "post_purchase", append(c.post.words, c.complaint.words...)...)
	case c.pre.any() && (c.question || c.request.any() || c.future.any()):
		r.Stage = "pre_purchase"
		reason("stage", "pre-purchase-cues", "pre_purchase", c.pre.words...)
	case c.mkt.any() && c.question:
		r.Stage = "pre_purchase"
		reason("stage", "offer-question", "pre_purchase", c.mkt.words...)
	case postScore >= 2:
		r.Stage = "post_purchase"
		reason("stage", "post-purchase-cues", "post_purchase", append(c.post.words, c.postWeak.words...)...)
	case c.complaint.any():
		r.Stage = "post_purchase"
		reason("stage", "complaint", "post_purchase", c.complaint.words...)
	case afterVisit && !c.question:
		r.Stage = "post_purchase"
		reason("stage", "talks-about-the-food-or-staff", "post_purchase", c.subject.words...)
	case c.pre.any() || c.future.any():
		r.Stage = "pre_purchase"
		reason("stage", "pre-purchase-cues", "pre_purchase", append(c.pre.words, c.future.words...)...)
	default:
		r.Stage = "none"
		reason("stage", "no-purchase-context", "none")
	}
}

func (t *Triager) department(in Input, r *Result, reason func(string, string, string, ...string), c cues, ntoks int) {
	switch {
	case c.spam.any():
		r.Department = "none"
		reason("department", "spam", "none", c.spam.words...)
		return
	case c.press:
		r.Department = "pr"
		reason("department", "press-enquiry", "pr")
		return
	case r.Stage == "none" && c.crowd.any():
		r.Department = "none"
		reason("department", "not-for-us", "none", c.crowd.words...)
		return
	case c.jobs.score > 0:
		r.Department = "hr"
		reason("department", "jobs", "hr", c.jobs.words...)
		return
	case c.pr.any() && r.Stage == "none":
		r.Department = "pr"
		reason("department", "creator-enquiry", "pr", c.pr.words...)
		return
	}
	problem := c.complaint.any() || c.careReq.any() || r.Crisis != "" || r.Sentiment <= negativeThreshold ||
		(in.Kind == "review" && in.Rating > 0 && in.Rating <= 3)
	switch r.Stage {
	case "pre_purchase":
		if c.mkt.any() && c.mkt.score >= c.pre.score {
			r.Department = "marketing"
			reason("department", "offers-and-loyalty", "marketing", c.mkt.words...)
		} else {
			r.Department = "sales"
			reason("department", "pre-purchase", "sales")
		}
	case "purchase":
		r.Department = "customer_care"
		reason("department", "order-under-way", "customer_care")
	case "post_purchase":
		if problem {
			r.Department = "customer_care"
			reason("department", "post-purchase-problem", "customer_care")
		} else {
			r.Department = "marketing"
			reason("department", "praise", "marketing")
		}
	default:
		if !slices.ContainsFunc([]rune(in.Text), unicode.IsLetter) && ntoks > 0 {
			r.Department = "none"
			reason("department", "no-words", "none")
		} else if ntoks == 0 {
			r.Department = "none"
			reason("department", "empty", "none")
		} else {
			r.Department = "marketing"
			reason("department", "brand-chatter", "marketing")
		}
	}
}

func (t *Triager) needsResponse(in Input, toks []textmatch.Token, r *Result, reason func(string, string, string, ...string), c cues) {
	hasWords := slices.ContainsFunc(toks, func(tk textmatch.Token) bool { return tk.Word && hasLetter(tk.Text) })
	set := func(v bool, rule string, words ...string) {
		r.NeedsResponse = v
		reason("needs_response", rule, strconv.FormatBool(v), words...)
	}
	switch {
	case c.spam.any():
		set(false, "spam", c.spam.words...)
	case in.Kind == "review" && !hasWords && in.Rating >= 4:
		set(false, "review-rating-only")
	case in.Kind == "review":
		set(true, "review-policy")
	case r.Crisis != "":
		set(true, "crisis", r.Crisis)
	case !hasWords:
		set(false, "no-words")
	case r.Stage == "purchase":
		set(true, "order-in-progress", c.purchase.words...)
	case c.friends:
		set(false, "tagging-friends")
	case c.crowd.any() && !c.complaint.any():
		set(false, "crowd-question", c.crowd.words...)
	case c.question:
		set(true, "question", c.questionWords...)
	case c.complaint.any() && (r.Sentiment < 0.3 || len(c.complaint.words) > 1):
		set(true, "complaint", c.complaint.words...)
	case c.request.any():
		set(true, "request", c.request.words...)
	case r.Sentiment <= -0.4:
		set(true, "negative-sentiment")
	case c.jobs.score > 0 || c.pr.any():
		set(true, "enquiry", append(c.jobs.words, c.pr.words...)...)
	case c.thanks.any():
		set(false, "thanks-or-praise", c.thanks.words...)
	case in.Kind == "dm":
		set(true, "direct-message")
	default:
		set(false, "chatter")
	}
}

// rawSentiment is VADER's compound score, blended with the star rating for
// reviews.
func (t *Triager) rawSentiment(in Input) float64 {
	text := strings.Join(strings.Fields(in.Text), " ") // VADER splits on single spaces
	s := t.vader.PolarityScores(text).Compound
	if in.Kind == "review" && in.Rating >= 1 && in.Rating <= 5 {
		stars := float64(in.Rating-3) / 2
		if strings.TrimSpace(text) == "" {
			return stars
		}
		return (s + stars) / 2
	}
	return s
}

// adjustSentiment applies what VADER cannot know: spam has no customer
// feeling, a plain pre-purchase question is neutral whatever words it
// uses ("free", "happy hour"), and a complaint in words VADER does not
// know as negative still reads as negative.
func (t *Triager) adjustSentiment(in Input, r *Result, reason func(string, string, string, ...string), c cues, s float64) float64 {
	rule := "vader"
	if in.Kind == "review" && in.Rating > 0 {
		rule = "vader+rating"
	}
	switch {
	case c.spam.any():
		s, rule = 0, "spam-is-neutral"
	case c.question && (r.Stage == "pre_purchase" || r.Stage == "none") && !c.complaint.any() && math.Abs(s) < 0.75:
		s, rule = s*0.1, "plain-question"
	case in.Kind != "review" && s > complaintSentimentCap && (c.complaint.score >= 2 || (c.complaint.any() && s < 0.5)):
		s = complaintSentimentCap
		reason("sentiment", "complaint-cues", format(s), c.complaint.words...)
		return s
	}
	s = math.Max(-1, math.Min(1, s))
	reason("sentiment", rule, format(s))
	return s
}

// tagsOnlyFriends reports whether the message is people tagging friends:
// it mentions someone other than the brand and says little else.
func (t *Triager) tagsOnlyFriends(toks []textmatch.Token) bool {
	others, words := 0, 0
	for i := 0; i < len(toks); i++ {
		if isMentionAt(toks, i) {
			handle := toks[i+1].Text
			i++
			for i+2 < len(toks) && (toks[i+1].Text == "." || toks[i+1].Text == "_") && toks[i+2].Word {
				handle += toks[i+1].Text + toks[i+2].Text
				i += 2 // handles like @jess.smith
			}
			if !t.isBrandHandle(handle) {
				others++
			}
			continue
		}
		if toks[i].Word {
			words++
		}
	}
	return others > 0 && words <= 8
}

// handleSeparators are the characters a brand's handle may be written with
// or without ("copper.kettle", "copper_kettle").
var handleSeparators = strings.NewReplacer(".", "", "_", "")

func (t *Triager) isBrandHandle(h string) bool {
	h = handleSeparators.Replace(h)
	for _, b := range t.brandHandles {
		if strings.Contains(h, b) {
			return true
		}
	}
	return false
}

func (t *Triager) isQuestion(text string, toks []textmatch.Token) (bool, []string) {
	if strings.Contains(text, "?") {
		return true, []string{"?"}
	}
	// A question word at the start of a sentence.
	starts := []int{0}
	for i, tk := range toks {
		if !tk.Word && strings.ContainsAny(tk.Text, ".!\n") && i+1 < len(toks) {
			starts = append(starts, i+1)
		}
	}
	m := t.cues["question_start"]
	for _, s := range starts {
		for s < len(toks) && !toks[s].Word {
			s++ // skip leading punctuation, emoji and @
		}
		for s < len(toks) && isMentionAt(toks, s) {
			s += 2
		}
		if s >= len(toks) {
			continue
		}
		var hit string
		m.Each(toks[s:], func(mt textmatch.Match) bool {
			if mt.First == 0 {
				hit = m.Phrase(mt.Phrase)
				return false
			}
			return true
		})
		if hit != "" {
			return true, []string{hit}
		}
	}
	return false, nil
}

// isMentionAt reports whether toks[i] is "@" followed by a handle.
func isMentionAt(toks []textmatch.Token, i int) bool {
	return toks[i].Text == "@" && i+1 < len(toks) && toks[i+1].Word
}

func priority(r Result, in Input) int {
	p := 0
	if r.NeedsResponse {
		p += 30
	}
	if r.Crisis != "" {
		p += 50
	}
	if r.Sentiment < 0 {
		p += int(-r.Sentiment * 15)
	}
	if in.Kind == "review" && in.Rating > 0 && in.Rating <= 2 {
		p += 5
	}
	return min(p, 100)
}

func hasLetter(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

func format(f float64) string {
	return strconv.FormatFloat(f, 'f', 3, 64)
}
