package intercom_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"intercom"
)

// TestFlatLines covers what can answer a flat's calls and what a ring rings:
// the intercom's lines, the flat's landline and its choices.
func TestFlatLines(t *testing.T) {
	const uri = "sip:+15551234567@gw.example"
	none := intercom.Intercom{}
	analog := intercom.Intercom{AnalogLine: true}
	both := intercom.Intercom{AnalogLine: true, LandlineLine: true}
	tests := []struct {
		name     string
		ic       intercom.Intercom
		fl       intercom.FlatLines
		devices  []string
		analogOn bool
		landOn   bool
		rings    intercom.CallLines
	}{
		{"no lines", none, intercom.DefaultFlatLines, []string{intercom.AnswerApps}, false, false, intercom.CallLines{}},
		{"a handset rings by default", analog, intercom.DefaultFlatLines,
			[]string{intercom.AnswerApps, intercom.AnswerAnalog}, true, false, intercom.CallLines{Analog: true}},
		{"the flat turned its handset off", analog, intercom.FlatLines{},
			[]string{intercom.AnswerApps, intercom.AnswerAnalog}, false, false, intercom.CallLines{}},
		{"landlines, but the flat has none", both, intercom.FlatLines{Analog: true, Landline: true},
			[]string{intercom.AnswerApps, intercom.AnswerAnalog}, true, false, intercom.CallLines{Analog: true}},
		{"a landline not chosen", both, intercom.FlatLines{Analog: true, LandlineURI: uri},
			[]string{intercom.AnswerApps, intercom.AnswerAnalog, intercom.AnswerLandline}, true, false, intercom.CallLines{Analog: true}},
		{"a landline chosen", both, intercom.FlatLines{Landline: true, LandlineURI: uri},
			[]string{intercom.AnswerApps, intercom.AnswerAnalog, intercom.AnswerLandline}, false, true, intercom.CallLines{Landline: uri}},
		{"a landline on an intercom that does not forward", analog, intercom.FlatLines{Landline: true, LandlineURI: uri},
			[]string{intercom.AnswerApps, intercom.AnswerAnalog}, false, false, intercom.CallLines{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.devices, intercom.AnswerDevices(tt.ic, tt.fl)); diff != "" {
				t.Errorf("AnswerDevices (-want +got):\n%s", diff)
			}
			if got := tt.fl.AnalogOn(tt.ic); got != tt.analogOn {
				t.Errorf("AnalogOn = %v", got)
			}
			if got := tt.fl.LandlineOn(tt.ic); got != tt.landOn {
				t.Errorf("LandlineOn = %v", got)
			}
			if diff := cmp.Diff(tt.rings, tt.fl.Rings(tt.ic)); diff != "" {
				t.Errorf("Rings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyLines: the apps' PATCH sets only lines the flat has; a refused
// setting changes nothing, the other one included.
func TestApplyLines(t *testing.T) {
	yes, no := true, false
	const uri = "sip:door@gw.example"
	tests := []struct {
		name    string
		ic      intercom.Intercom
		u       intercom.IntercomUpdate
		want    intercom.FlatLines
		changed bool
		errKeys []string
	}{
		{"nothing about lines", intercom.Intercom{}, intercom.IntercomUpdate{IsEnabled: &yes}, intercom.FlatLines{Analog: true, LandlineURI: uri}, false, nil},
		{"the handset off", intercom.Intercom{AnalogLine: true}, intercom.IntercomUpdate{Analog: &no},
			intercom.FlatLines{LandlineURI: uri}, true, nil},
		{"no handset line", intercom.Intercom{}, intercom.IntercomUpdate{Analog: &yes},
			intercom.FlatLines{Analog: true, LandlineURI: uri}, false, []string{intercom.AnswerAnalog}},
		{"off, as the object says of a line the flat lacks: nothing to change", intercom.Intercom{}, intercom.IntercomUpdate{Analog: &no, Landline: &no},
			intercom.FlatLines{Analog: true, LandlineURI: uri}, false, nil},
		{"the landline on", intercom.Intercom{LandlineLine: true}, intercom.IntercomUpdate{Landline: &yes},
			intercom.FlatLines{Analog: true, Landline: true, LandlineURI: uri}, true, nil},
		{"both, one refused: neither", intercom.Intercom{LandlineLine: true}, intercom.IntercomUpdate{Analog: &yes, Landline: &yes},
			intercom.FlatLines{Analog: true, LandlineURI: uri}, false, []string{intercom.AnswerAnalog}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := intercom.FlatLines{Analog: true, LandlineURI: uri}
			changed, err := tt.u.ApplyLines(tt.ic, &fl)
			var keys []string
			if e, ok := err.(*intercom.Error); ok {
				for _, fe := range e.Fields {
					keys = append(keys, fe.Key)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fl); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if changed != tt.changed || !cmp.Equal(keys, tt.errKeys) {
				t.Errorf("changed %v, errors on %v; want %v, %v", changed, keys, tt.changed, tt.errKeys)
			}
		})
	}
	// The flat has no landline without its URI, whatever the intercom has.
	fl := intercom.FlatLines{}
	if _, err := (intercom.IntercomUpdate{Landline: &yes}).ApplyLines(intercom.Intercom{LandlineLine: true}, &fl); intercom.ErrorCode(err) != intercom.EINVALID {
		t.Errorf("landline without a URI: %v", err)
	}
}

// TestLineTransitions: a line the ring rang answers it once, while it rings;
// a ringing line keeps the call alive when every device declined.
func TestLineTransitions(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := t0.Add(10 * time.Second)
	rung := func() []intercom.CallDevice {
		return []intercom.CallDevice{{DeviceID: 1, UserID: 1, Channels: []string{intercom.ChannelWS}}}
	}
	handset := intercom.CallLines{Analog: true}
	answerOn := func(line string) func(*intercom.Call) error {
		return func(c *intercom.Call) error {
			_, err := c.AnswerOn(line, at)
			return err
		}
	}
	type result struct {
		Status, AnsweredOn, Via string
		StartedAt, ConnectedAt  *time.Time
		Err                     string
	}
	tests := []struct {
		name string
		call intercom.Call
		do   func(*intercom.Call) error
		want result
	}{
		{"the handset answers", intercom.NewCall(1, nil, rung(), handset, t0),
			answerOn(intercom.LineAnalog),
			result{Status: intercom.CallAnswered, AnsweredOn: intercom.LineAnalog, Via: intercom.LineAnalog, StartedAt: &at, ConnectedAt: &at}},
		{"a line the ring did not ring", intercom.NewCall(1, nil, rung(), handset, t0),
			answerOn(intercom.LineLandline),
			result{Status: intercom.CallRing, Err: intercom.EINVALID}},
		{"a line after an app answered", intercom.NewCall(1, nil, rung(), handset, t0),
			func(c *intercom.Call) error {
				if err := c.Answer(1, at); err != nil {
					return err
				}
				return answerOn(intercom.LineAnalog)(c)
			},
			result{Status: intercom.CallAnswered, Via: intercom.AnsweredApp, StartedAt: &at, Err: intercom.ECONFLICT}},
		{"every device declined, the handset rings on", intercom.NewCall(1, nil, rung(), handset, t0),
			func(c *intercom.Call) error { return c.Decline(1, at) },
			result{Status: intercom.CallRing}},
		{"every device declined, no line: missed", intercom.NewCall(1, nil, rung(), intercom.CallLines{}, t0),
			func(c *intercom.Call) error { return c.Decline(1, at) },
			result{Status: intercom.CallMissed}},
		{"no device, a landline: ringing", intercom.NewCall(1, nil, nil, intercom.CallLines{Landline: "sip:x@gw"}, t0),
			func(c *intercom.Call) error { return nil },
			result{Status: intercom.CallRing}},
		{"the same report again: no change", intercom.NewCall(1, nil, rung(), handset, t0),
			func(c *intercom.Call) error {
				if err := answerOn(intercom.LineAnalog)(c); err != nil {
					return err
				}
				if changed, err := c.AnswerOn(intercom.LineAnalog, at.Add(time.Second)); changed || err != nil {
					return fmt.Errorf("repeated report: changed %v, %v", changed, err)
				}
				return nil
			},
			result{Status: intercom.CallAnswered, AnsweredOn: intercom.LineAnalog, Via: intercom.LineAnalog, StartedAt: &at, ConnectedAt: &at}},
		{"another line after the handset answered", intercom.NewCall(1, nil, rung(), intercom.CallLines{Analog: true, Landline: "sip:x@gw"}, t0),
			func(c *intercom.Call) error {
				if err := answerOn(intercom.LineAnalog)(c); err != nil {
					return err
				}
				return answerOn(intercom.LineLandline)(c)
			},
			result{Status: intercom.CallAnswered, AnsweredOn: intercom.LineAnalog, Via: intercom.LineAnalog, StartedAt: &at, ConnectedAt: &at,
				Err: intercom.ECONFLICT}},
		{"no device, no line: missed at once", intercom.NewCall(1, nil, nil, intercom.CallLines{}, t0),
			func(c *intercom.Call) error { return nil },
			result{Status: intercom.CallMissed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.call
			err := tt.do(&c)
			got := result{Status: c.Status, AnsweredOn: c.AnsweredOn, Via: c.AnsweredVia(), StartedAt: c.StartedAt, ConnectedAt: c.ConnectedAt,
				Err: intercom.ErrorCode(err)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if intercom.CancelAnsweredOn(intercom.LineAnalog) != "answered_analog" || intercom.CancelAnsweredOn(intercom.LineLandline) != "answered_landline" {
		t.Error("cancel reasons of the lines")
	}
}

func TestValidLandlineURI(t *testing.T) {
	tests := []struct {
		uri  string
		want bool
	}{
		{"sip:+15551234567@gw.example", true},
		{"sips:door@gw.example:5061", true},
		{"sip:gw.example", true},
		{"sip:user@gw.example;transport=tcp", true},
		{"sip:user:secret@10.0.0.1", true},
		{"", false},
		{"sip:", false},
		{"sip:@gw", false},
		{"sip:user@", false},
		{"sip:user@:5060", false},
		{"tel:+15551234567", false},
		{"http://gw.example", false},
		{"sip://gw.example", false},
		{"sip:a b@gw", false},
		{"sip:x@gw\n", false},
		{"sip:x@gw\x00", false},
		{"sip:x@" + strings.Repeat("g", 260), false},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			if got := intercom.ValidLandlineURI(tt.uri); got != tt.want {
				t.Errorf("ValidLandlineURI(%q) = %v, want %v", tt.uri, got, tt.want)
			}
		})
	}
}

// FuzzParseFlatLinesUpdate: any JSON object is either a valid update (a URI
// that passes ValidLandlineURI or none) or an EINVALID naming its fields.
func FuzzParseFlatLinesUpdate(f *testing.F) {
	for _, s := range []string{`{"landline_uri":"sip:x@gw"}`, `{"landline_uri":null}`, `{"landline_uri":""}`, `{}`, `{"x":1}`,
		`{"is_analog_line_available":"1","is_landline_sip_line_available":false}`, `{"landline_uri":"sip:a b"}`, `{"landline_uri":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var body map[string]any
		if dec.Decode(&body) != nil || body == nil {
			return
		}
		u, err := intercom.ParseFlatLinesUpdate(body)
		if err != nil {
			e, ok := err.(*intercom.Error)
			if !ok || e.Code != intercom.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if u.LandlineURI != nil && *u.LandlineURI != "" && !intercom.ValidLandlineURI(*u.LandlineURI) {
			t.Fatalf("landline_uri %q accepted", *u.LandlineURI)
		}
		for k := range body {
			if k != "landline_uri" && k != intercom.AnswerAnalog && k != intercom.AnswerLandline {
				t.Fatalf("unknown field %q accepted", k)
			}
		}
		fl := intercom.DefaultFlatLines
		u.Apply(&fl)
		if u.LandlineURI == nil && fl.LandlineURI != "" {
			t.Fatal("Apply set a URI that was not sent")
		}
	})
}
