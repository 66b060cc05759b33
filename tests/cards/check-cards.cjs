#!/usr/bin/env node
// Checks Adaptive Cards the way Microsoft's renderer (npm `adaptivecards`) reads them, for a
// host on schema 1.5 (Teams): every parse event the serialization context collects (unknown
// element or action types, invalid property values, elements newer than 1.5), every event of
// `validateProperties()` (missing ids, empty choice sets, too many actions, duplicate ids…),
// and the serialized size against Teams' 28 KB limit for one message.
//
//   node check-cards.cjs CARD.json...       one card per file
//   node check-cards.cjs < cards.json       a JSON array of cards on stdin
//
// Prints one JSON line per card: {"file", "ok", "size", "max_size", "events": [{"phase",
// "event", "message"}]}. Exits 0 when no card has an event, 1 when any has, 2 on bad usage.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

// The package's ESM entry does not load on Node 20; the UMD bundle does, and needs no DOM to
// parse and validate (only rendering touches `document`).
const AdaptiveCards = require(
  path.join(__dirname, "node_modules", "adaptivecards", "dist", "adaptivecards.js"),
);

// Teams refuses a message larger than about 28 KB; the card is most of it.
const MAX_SIZE = 28 * 1024;

function describe(event) {
  return {
    phase: AdaptiveCards.ValidationPhase[event.phase] ?? String(event.phase),
    event: AdaptiveCards.ValidationEvent[event.event] ?? String(event.event),
    message: event.message,
  };
}

function checkCard(file, json) {
  const size = Buffer.byteLength(JSON.stringify(json), "utf8");
  const events = [];
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    events.push({ phase: "Load", event: "NotAnObject", message: "A card must be a JSON object." });
  } else {
    const card = new AdaptiveCards.AdaptiveCard();
    // The host's newest schema: a card declaring a later version is refused, as Teams does.
    card.maxVersion = AdaptiveCards.Versions.v1_5;
    const context = new AdaptiveCards.SerializationContext(AdaptiveCards.Versions.v1_5);
    try {
      card.parse(json, context);
    } catch (err) {
      events.push({ phase: "Parse", event: "Exception", message: String(err && err.message) });
    }
    for (let i = 0; i < context.eventCount; i++) {
      events.push(describe(context.getEventAt(i)));
    }
    const results = card.validateProperties();
    for (const event of results.validationEvents) {
      events.push(describe(event));
    }
  }
  if (size > MAX_SIZE) {
    events.push({
      phase: "Size",
      event: "TooLarge",
      message: `The card is ${size} bytes; Teams accepts at most ${MAX_SIZE} bytes (28 KB) in one message.`,
    });
  }
  return { file, ok: events.length === 0, size, max_size: MAX_SIZE, events };
}

function readCards(argv) {
  if (argv.length > 0) {
    return argv.map((file) => {
      try {
        return [file, JSON.parse(fs.readFileSync(file, "utf8"))];
      } catch (err) {
        return [file, new Error(`Cannot read the card: ${err.message}`)];
      }
    });
  }
  let cards;
  try {
    cards = JSON.parse(fs.readFileSync(0, "utf8"));
  } catch (err) {
    usage(`stdin is not JSON: ${err.message}`);
  }
  if (!Array.isArray(cards)) {
    usage("stdin must hold a JSON array of cards");
  }
  return cards.map((card, i) => [`<stdin>[${i}]`, card]);
}

function usage(problem) {
  process.stderr.write(`check-cards: ${problem}\nusage: node check-cards.cjs [CARD.json...] (or a JSON array of cards on stdin)\n`);
  process.exit(2);
}

function main() {
  let failed = false;
  for (const [file, json] of readCards(process.argv.slice(2))) {
    const result = json instanceof Error
      ? { file, ok: false, size: 0, max_size: MAX_SIZE,
          events: [{ phase: "Load", event: "Unreadable", message: json.message }] }
      : checkCard(file, json);
    failed = failed || !result.ok;
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

main();
