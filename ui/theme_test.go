package ui

import (
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// sgr matches one Select Graphic Rendition sequence and its parameters.
var sgr = regexp.MustCompile("\x1b\\[([0-9;]*)m")

func renderer(p termenv.Profile) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	return r
}

func TestThemeModesPickPalettes(t *testing.T) {
	dark := NewThemeMode(renderer(termenv.TrueColor), ThemeDark).State("ERRORED").Render("x")
	light := NewThemeMode(renderer(termenv.TrueColor), ThemeLight).State("ERRORED").Render("x")
	// #e06c75 = 224;108;117, #b42318 ≈ 179;35;24 (after colour conversion)
	if !strings.Contains(dark, "224;108;117") {
		t.Errorf("dark theme ERRORED = %q", dark)
	}
	if !strings.Contains(light, ";35;24m") || light == dark {
		t.Errorf("light theme ERRORED = %q", light)
	}
}

func TestMonoThemeHasNoColourButKeepsSelection(t *testing.T) {
	th := NewThemeMode(renderer(termenv.ANSI), ThemeNone)
	var out strings.Builder
	for _, s := range []string{
		th.Header.Render("h"), th.HeaderAccent.Render("a"), th.Status.Render("s"), th.FlashErr.Render("e"),
		th.FlashWarn.Render("w"), th.TableHeader.Render("t"), th.Title.Render("t"), th.JSONKey.Render("k"),
		th.State("ERRORED").Render("E"), th.State("COMPLETED").Render("C"), th.Match.Render("m"),
	} {
		out.WriteString(s)
	}
	for _, m := range sgr.FindAllStringSubmatch(out.String(), -1) {
		for _, p := range strings.Split(m[1], ";") {
			if n, _ := strconv.Atoi(p); n >= 30 && n <= 49 || n >= 90 && n <= 107 {
				t.Fatalf("colour parameter %d in the NO_COLOR theme: %q", n, out.String())
			}
		}
	}
	sel := th.Selected.Render("row")
	if !strings.Contains(sel, "\x1b[7m") {
		t.Fatalf("selection must be reverse video without colour: %q", sel)
	}
	if !strings.Contains(th.State("ERRORED").Render("E"), "\x1b[1m") {
		t.Fatal("ERRORED must stand out (bold) without colour")
	}
}
