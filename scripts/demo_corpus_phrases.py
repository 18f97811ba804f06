"""Phrase banks for scripts/make_demo_corpus.py: per SOP step, per language, rep and customer lines.

Written for the demo corpus, never copied from the SOP examples. Each step entry says who speaks
(`who`: "rep" or "cust"), the variants (`say`) and the other party's possible answers (`reply`).
Objection-like steps key their variants by objection kind (price, competitor, security, timing).
Off-SOP moments use keys that start with "~". Slots: {c} contact, {co} company, {me} rep's first
name, {day} weekday, {rival} competitor, {n} a count (trucks / machines), {amt} an amount.

English product: Acme's real-time delivery visibility platform (live ETAs, proof of delivery,
driver app, customer notifications) for distributors. Chinese product: 艾克美智能的设备联网与
预测性维护平台 for manufacturers, matching the hand-written corpus in demo_data/.
"""

from __future__ import annotations

from typing import Any

OBJECTIONS = ("price", "competitor", "security", "timing")

EN: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------- b2b-discovery
    "greeting": {
        "who": "rep",
        "say": [
            "Hi {c}, it's {me} from Acme. Really appreciate you carving out some time this morning.",
            "Hey {c}, {me} here with Acme. Thanks for getting on with me, I know Mondays are hectic.",
            "Good afternoon {c}, this is {me} at Acme. Can you hear me alright on your end?",
            "{c}, hi, {me} from Acme. Thanks for the time. Is anyone from your dispatch team joining us too?",
            "Hello {c}, {me} with Acme calling. Glad we finally managed to line our calendars up.",
        ],
        "reply": [
            "Hi {me}, yes, loud and clear. I've got about half an hour.",
            "Hey, no problem. Our ops manager might hop on later, but let's start.",
            "Sure thing. Sorry, I'm just walking back from the warehouse, give me one second.",
            "Hi there. Yeah, it's just me today.",
            "Happy to. It's been one of those weeks, so this is a nice break.",
        ],
    },
    "set-agenda": {
        "who": "rep",
        "say": [
            "So the way I'd like to use our time: I ask about how deliveries run for you today, I share a little about what we do, and we figure out together if it's worth a second conversation. Sound okay?",
            "I was thinking we spend most of this call on your side of things, and maybe the last ten minutes on us. Anything you'd add to that?",
            "Rough plan: your current process first, then the problems worth solving, then whether a next meeting makes sense at all. Does that work?",
            "Before we dive in, what would make this call a good use of your time?",
            "I've got about three topics I'd like to cover, but I'm happy to go wherever is most useful for you. Okay if I start with a few questions?",
        ],
        "reply": [
            "That works. I'd mostly like to know how you're different from what we have.",
            "Sounds good to me.",
            "Sure. Just keep it practical, I've sat through a lot of slide decks this month.",
            "Fine by me. If we can cover pricing at some point that would help.",
            "Yeah, go ahead with your questions.",
        ],
    },
    "situation-questions": {
        "who": "rep",
        "say": [
            "Could you paint me a picture of a normal delivery day, from loading the trucks to the last stop?",
            "How many trucks are you running right now, and how do dispatchers keep track of them?",
            "What are your drivers using today for routes and proof of delivery, paper or an app?",
            "When a customer calls asking where their order is, who picks up and how do they find out?",
            "How is the team organised between dispatch, customer service and the drivers?",
        ],
        "reply": [
            "Sure. Trucks load from five in the morning, first stops around seven, and we run until mid-afternoon. About {n} trucks out of two depots.",
            "Around {n} trucks. Dispatch has a whiteboard and the GPS screen from our telematics vendor, that's about it.",
            "Printed manifests and paper signatures. The paperwork comes back at the end of the shift, sometimes the next day.",
            "Customer service picks up, then they phone dispatch, and dispatch phones the driver. So three calls for one question.",
            "Four dispatchers, twelve people in customer service, and the drivers report to two depot managers.",
        ],
    },
    "problem-questions": {
        "who": "rep",
        "say": [
            "What part of that day goes sideways most often?",
            "Where do you feel the friction the most, on the dispatch side or with your customers?",
            "What's the thing your customers complain about that you'd love to never hear again?",
            "When something goes wrong on a route, how long does it usually take before anyone in the office knows?",
            "Which part of that process are you least comfortable with right now?",
        ],
        "reply": [
            "The back and forth when a truck is late. Nobody knows until the customer calls us angry.",
            "The customer side, for sure. Our big accounts want ETAs and we just can't give them a real one.",
            "Where's my truck. We get that call fifty times a day.",
            "Often an hour or more. Sometimes we find out from the customer.",
            "The paperwork. We can't invoice until the signed delivery notes are back.",
        ],
    },
    "customer-describes-pain": {
        "who": "cust",
        "say": [
            "To be blunt, we lose hours every day chasing drivers on the phone just to answer where's my order.",
            "The real headache is disputes. A customer says they never got the pallet, and we have a smudged signature on paper to prove it.",
            "Our on-time rate looks fine on paper, but the restaurants we deliver to keep telling us we show up in the middle of their lunch rush.",
            "We lost one of our bigger accounts in the spring, and the reason they gave was that we were a black box compared with the other distributor.",
            "Dispatchers are burning out. They spend the whole shift on the phone instead of actually planning routes.",
        ],
        "reply": [
            "That's really helpful, thank you.",
            "Okay, I've heard that from a few distributors this year.",
            "Got it, that sounds painful.",
            "Mm, understood.",
        ],
        "p_reply": 0.6,
    },
    "implication-questions": {
        "who": "rep",
        "say": [
            "What does that add up to over a month, in hours or in credits you end up giving back?",
            "And when that happens, what's the knock-on effect for your customer service team?",
            "If the disputes keep coming at this rate, what does that do to cash flow at the end of the quarter?",
            "How has that played into renewals with your larger accounts?",
            "What happens if peak season hits and nothing about this has changed?",
        ],
        "reply": [
            "I'd guess two people full time just on status calls, plus maybe fifteen thousand a quarter in credits.",
            "They get buried. Hold times go up and the other customers get annoyed too.",
            "Invoices sit for a week sometimes, so yes, it hurts. Finance is on me about it constantly.",
            "Two accounts told us in their review that visibility is a must-have next year. So it's real.",
            "Peak would be ugly. Last December we pulled people from the warehouse to answer the phones.",
        ],
    },
    "need-payoff-questions": {
        "who": "rep",
        "say": [
            "Say your customers could see an accurate ETA on their own, how much of that phone traffic would go away?",
            "If signed proof of delivery landed the minute the driver left the dock, what would that change for invoicing?",
            "What would it be worth to walk into those renewal meetings with real on-time numbers?",
            "If dispatch got those hours back, where would you want them spending the time?",
            "Picture this fixed by the spring. What's different for you personally?",
        ],
        "reply": [
            "Most of it, honestly. Maybe seventy percent of the calls are just where is it.",
            "We could invoice same day. Finance would love that.",
            "It would help a lot. Right now we argue from anecdotes.",
            "Planning. We never have time to actually optimise the routes.",
            "I'd stop getting calls on my cell at eight in the evening, that's what changes.",
        ],
    },
    "confirm-need": {
        "who": "rep",
        "say": [
            "Let me check I've got it: the big one is customers chasing you for ETAs, and right behind it the paper proof of delivery. Is that the right order?",
            "So, in short, visibility for your customers and fewer disputes. Is that something that has to happen this year, or can it wait?",
            "Before I go further, is fixing this on your top three for the next two quarters?",
            "It sounds like the phone load is what's hurting most. Did I miss anything important?",
        ],
        "reply": [
            "Yes, that's the right order. The ETA piece is what our customers keep asking for.",
            "It has to happen this year. Our COO brought it up in the last planning meeting.",
            "Top three, yes. It's number two behind the new warehouse.",
            "No, that's pretty much it. Maybe add driver adoption as a worry.",
        ],
    },
    "qualify-budget": {
        "who": "rep",
        "say": [
            "Is there money earmarked for this kind of project, or would it need a case built from scratch?",
            "What range were you picturing for something like this, so I don't come back with a number that's way off?",
            "Which budget would a platform like ours usually come out of for you, operations or IT?",
            "Have you priced anything like this before, even roughly?",
        ],
        "reply": [
            "There's some budget in the ops line for next year, but it's not huge.",
            "I honestly don't know yet. Somewhere under a hundred thousand, I'd think.",
            "Ops budget. IT would want a say but they don't pay for it.",
            "Not really. We'd need a business case, and if you can help with the numbers that would speed it up.",
        ],
    },
    "qualify-decision-maker": {
        "who": "rep",
        "say": [
            "Who else would want a voice in choosing something like this?",
            "When you bought the telematics system, how did that decision get made and who signed it?",
            "Would your COO need to see this before anything is approved?",
            "Is there anyone in IT or security we should bring in early so they don't become a blocker later?",
        ],
        "reply": [
            "It'd be me and the head of customer service recommending, and the CFO approving.",
            "Our COO signs anything over fifty thousand. IT does a security review first.",
            "Yes, Dana, our COO. She likes to see a demo before anything goes to contract.",
            "IT for sure. They killed the last project in security review.",
        ],
    },
    "qualify-timeline": {
        "who": "rep",
        "say": [
            "Is there a date you're working towards, peak season or a contract renewal?",
            "If everything lined up, when would you want drivers using something new?",
            "What would make this urgent enough to do before the new year?",
            "How long does a decision like this usually take at {co}?",
        ],
        "reply": [
            "Ideally before peak, so live by mid-November. Realistically January.",
            "Our biggest customer renews in February, so I want something to show them before that.",
            "A decision in the next six weeks would be good. After that budgets freeze.",
            "Usually a quarter, start to finish. Faster if the COO is pushing it.",
        ],
    },
    "tailored-value": {
        "who": "rep",
        "say": [
            "Given what you said about the phone load, the piece that fits best is the live tracking link. Your customers get an ETA that updates itself, and the calls drop off.",
            "A food distributor about your size had the same disputes problem. With photo proof of delivery on the driver app they cut credits by about a third in the first quarter.",
            "Because signed delivery notes sync the moment the stop is closed, your finance team can invoice the same day instead of waiting on paperwork.",
            "For {n} trucks, dispatch usually gets back a couple of hours per person per day, which is exactly the planning time you mentioned you never have.",
            "The reason I think we're a fit is the renewal meetings you described. You'd walk in with on-time numbers per customer instead of anecdotes.",
        ],
        "reply": [
            "That would be huge if it actually works with our drivers.",
            "Interesting. How long did it take them to get there?",
            "Okay, the invoicing piece I hadn't even thought about.",
            "Sure, everybody says that, but I like that you listened first.",
        ],
    },
    "customer-objection": {
        "who": "cust",
        "say": {
            "price": [
                "I'll be honest, anything per truck per month adds up fast for us. This might be hard to justify.",
                "It sounds good, but I can already hear our CFO asking why we'd pay for this on top of telematics.",
            ],
            "competitor": [
                "We had {rival} in here last month, and they showed something pretty similar.",
                "Our telematics vendor says they'll have customer ETAs next year, so why not just wait for that?",
            ],
            "security": [
                "Our IT guys will ask where the customer data lives. They're strict after last year's incident.",
                "The drivers' union is going to push back on anything that tracks them all day.",
            ],
            "timing": [
                "Timing is tough. We're opening the new warehouse in the next couple of months and everyone is stretched.",
                "I'm not sure we can take on another rollout before peak season.",
            ],
        },
    },
    "handle-objection": {
        "who": "rep",
        "say": {
            "price": [
                "That's fair. Can I ask what the credits and the extra phone hours cost you now? In most cases one quarter of that pays for the year.",
                "Understood. We could start with one depot so the number is small and the results speak for themselves.",
            ],
            "competitor": [
                "Makes sense to compare. What did you like about what {rival} showed you, and what was missing?",
                "Waiting is an option. The difference is that our tracking link works with the hardware you already have, so nothing needs replacing.",
            ],
            "security": [
                "Good that it comes up now. We can send our security pack early and get your IT lead on a call with our engineer.",
                "Tracking stops the moment a driver ends the shift, and we've helped other companies walk their drivers through it before rollout.",
            ],
            "timing": [
                "Totally get it. What if we plan the rollout for right after the warehouse opens and just do the groundwork now?",
                "Fair enough. What would have to be true for this to make sense before peak rather than after?",
            ],
        },
        "reply": [
            "Okay, that's reasonable.",
            "Hm. Let me think about that.",
            "That would help, yes.",
            "Fair. Send me that and I'll take a look.",
        ],
    },
    "agree-next-step": {
        "who": "rep",
        "say": [
            "What I'd suggest next is a forty-five minute session where I show your dispatchers the driver app. Could we do {day} at ten?",
            "How about I send an invite for {day} afternoon with you, your COO and someone from IT?",
            "Before we hang up, shall we pick the slot for the demo? I have {day} morning or the following Monday.",
            "Let me propose a follow-up on {day} where we go through real numbers for a business case. Does that work on your side?",
        ],
        "reply": [],
    },
    "customer-confirms-next-step": {
        "who": "cust",
        "say": [
            "{day} at ten works. Send the invite and I'll forward it to dispatch.",
            "{day} is packed, can we do the day after instead? Same time is fine.",
            "Sure, go ahead and book it. I'll make sure the COO is on.",
            "Let me check with IT, but pencil in {day}.",
        ],
    },
    # ---------------------------------------------------------------- product-demo
    "recap-pains": {
        "who": "rep",
        "say": [
            "Before I share anything, a quick recap from our first call: customers chasing ETAs, paper proof of delivery slowing invoicing, and dispatch stuck on the phone. Still the right three?",
            "When we spoke last you said the phone load was the biggest issue. Anything changed since then?",
            "My notes from last time say disputes cost you around fifteen thousand a quarter. Is that still roughly right?",
            "Last time your COO wanted to see the customer side first. Should I start there?",
        ],
        "reply": [
            "Still the same three. Add one: the new warehouse opens in January.",
            "Nothing changed, if anything the calls got worse this month.",
            "Roughly, yes. Maybe a bit more after last month.",
            "Yes, start with what our customers would see.",
        ],
    },
    "demo-agenda": {
        "who": "rep",
        "say": [
            "Here's how I'll run it: fifteen minutes on the customer tracking link, ten on the driver app, then questions and what next steps could look like.",
            "I'll stick to the three things you care about and leave time at the end. Interrupt me whenever you like.",
            "Anything you'd like me to add before I start sharing?",
            "I'll start with proof of delivery since that's where the money is, then ETAs. Okay?",
        ],
        "reply": [
            "Perfect. Carl needs to drop at the half hour, so the customer piece first please.",
            "Sounds good, go ahead.",
            "Can you also show how dispatch sees exceptions?",
        ],
    },
    "demo-feature": {
        "who": "rep",
        "say": [
            "This is the link your customer gets by text. The ETA here recalculates every few minutes from the truck's position, so nobody has to call.",
            "On the driver app the stop closes with a photo and a signature, and the delivery note is in the system before the truck leaves the dock.",
            "This board is what dispatch sees. Anything running late turns orange, so they deal with exceptions instead of watching every dot.",
            "Here's the on-time report per customer, the one you'd take into those renewal meetings.",
            "If I open this stop, you see the time window the restaurant set, so the driver doesn't show up at lunch.",
        ],
        "reply": [
            "Okay.",
            "Huh, the photo part is nice.",
            "Can you zoom in a bit? Thanks.",
            "Right.",
        ],
        "p_reply": 0.5,
    },
    "check-in": {
        "who": "rep",
        "say": [
            "How close is that to what your customer service people would need?",
            "Would your dispatchers actually work from this screen, or am I missing something?",
            "Is this making sense so far, or am I going too fast?",
            "Could you see this making a difference on a day like the one you described?",
        ],
        "reply": [
            "Pretty close. They'd want a way to search by order number.",
            "I think so. Dispatch lives in the telematics screen now, so it depends on the switching.",
            "Makes sense, keep going.",
            "Yes, last Tuesday would have been a lot calmer with this.",
        ],
    },
    "customer-question": {
        "who": "cust",
        "say": [
            "Does this pull orders straight from our ERP, or does someone upload a file every morning?",
            "What happens if a driver loses signal out in the country?",
            "Can our customers get the ETA by email instead of text? Some of them hate texts.",
            "How long would it take to get one depot live?",
            "Can it work with the GPS units we already have in the trucks?",
        ],
    },
    "answer-question": {
        "who": "rep",
        "say": [
            "Good question. We have a standard connector for most ERPs, so orders sync overnight and again every fifteen minutes.",
            "The app keeps working offline and syncs the proof of delivery once it's back in coverage.",
            "Yes, each customer can choose text, email or both.",
            "One depot is usually live in about three weeks, most of that is driver training.",
            "In most cases yes, we read the position from your telematics provider, so no new hardware.",
        ],
        "reply": [
            "Overnight plus every fifteen minutes is fine for us.",
            "Good, the rural routes were my worry.",
            "Great, some of our accounts only read email.",
            "Three weeks is faster than I expected.",
            "Good, I didn't want to touch the hardware again.",
        ],
        "p_reply": 0.7,
    },
    "demo-objection": {
        "who": "cust",
        "say": {
            "price": [
                "This is nice, but I'm worried it'll cost more than we save, at least in year one.",
                "The feature list is long, and I suspect we'd pay for a lot we never use.",
            ],
            "competitor": [
                "{rival} showed almost the same tracking link. What's really different?",
                "Our telematics vendor says they'll do this for free next year.",
            ],
            "security": [
                "IT is going to ask hard questions about customer addresses sitting in your cloud.",
                "Our drivers won't like being tracked on their own phones.",
            ],
            "timing": [
                "It looks good, but I can't see us rolling this out while we open the new warehouse.",
                "Honestly, I need time to think about this with the team.",
            ],
        },
    },
    "demo-handle-objection": {
        "who": "rep",
        "say": {
            "price": [
                "Fair point. Let's size it on just the routes with the most disputes, and you pay for those trucks only.",
                "That's why we price by active truck. If a truck is parked, you don't pay for it.",
            ],
            "competitor": [
                "Good that you compared. The difference is the proof of delivery and the time windows, which you said matter most. Want me to show them side by side?",
                "They might. What we'd offer now is a pilot you can compare against whatever they ship.",
            ],
            "security": [
                "We can share our security documentation this week and set up a call with your IT lead.",
                "Drivers can use company devices, and tracking switches off at the end of each shift.",
            ],
            "timing": [
                "Understood. We could prepare everything now and switch on the day after the warehouse opens.",
                "Of course. What would you need to have in hand to make that decision with your team?",
            ],
        },
        "reply": [
            "Okay, that helps.",
            "Let me see what IT says.",
            "Maybe. Send me something in writing.",
        ],
        "p_reply": 0.8,
    },
    "discuss-pricing": {
        "who": "rep",
        "say": [
            "On price: it's billed per active truck per month, with the customer tracking link and proof of delivery included. For {n} trucks you'd be in the mid tier.",
            "A pilot on one depot is a flat fee for ninety days, and that fee is credited if you roll out.",
            "Ballpark, for your fleet you're looking at about {amt} a year, everything included.",
            "If you commit to two years, we can take ten percent off the per-truck rate.",
        ],
        "reply": [
            "The mid tier sounds about right for us.",
            "The pilot idea I can probably sell internally.",
            "That's more than I hoped. The business case will need to be solid.",
            "Can you put the two-year option in writing?",
        ],
    },
    "mutual-action-plan": {
        "who": "rep",
        "say": [
            "Let's write down what has to happen between now and a decision, and who owns each piece.",
            "If you want drivers live in January, IT's review needs to be done by mid-December. I'll send the security pack tomorrow and you'll bring in your IT lead. Fair?",
            "What does your side need to do before a contract can be signed?",
            "I'll draft a one-page plan with dates: pilot kickoff, review with your COO, then procurement. We both edit it.",
        ],
        "reply": [
            "Yes, send the plan. I'll add the IT dates.",
            "Procurement needs three weeks, put that in.",
            "That works, I'll talk to IT this week.",
        ],
    },
    "book-next-meeting": {
        "who": "rep",
        "say": [
            "Can we get thirty minutes with your COO on {day} to go over the plan?",
            "I'll send an invite for {day} at nine for the pilot kickoff, does that work?",
            "Let's put the IT review on the calendar now. {day} afternoon?",
            "Same time next {day} to look at the proposal together?",
        ],
        "reply": [
            "{day} works, send it over.",
            "Make it the afternoon and you've got a deal.",
            "Sure, I'll forward it to IT.",
        ],
    },
    # ---------------------------------------------------------------- negotiation (English, sop_id null)
    "neg-recap": {
        "who": "rep",
        "say": [
            "Thanks for making time, {c}. I know the proposal has been with your team for a week, so I'd like to hear where things stand.",
            "Last time we agreed the pilot went well. Today I'd like to settle the commercial terms so we can get the rollout on the calendar.",
            "Before we get into numbers, has anything changed on your side since the proposal went out?",
        ],
        "reply": [
            "Sure. Overall people like it, but there are some issues with the price.",
            "Nothing major changed, but procurement has joined the conversation now.",
            "We're close. Finance has a few questions.",
        ],
    },
    "neg-confirm-process": {
        "who": "rep",
        "say": [
            "Just so I understand the process, once we agree today, who else signs off, and what does procurement need from us?",
            "Is the CFO the final approver, or does it go to the board at this size?",
            "If we reach terms today, what are the steps to a signature on your side?",
        ],
        "reply": [
            "CFO signs, procurement does the paperwork. About two weeks if nothing weird comes up.",
            "Our COO approves and legal reviews the master agreement.",
            "Procurement first, then the CFO. I'd say end of the month.",
        ],
    },
    "neg-pushback": {
        "who": "cust",
        "say": {
            "price": [
                "Your number is about twenty percent above what we have budgeted. I can't take that upstairs.",
                "Finance wants the per-truck rate down before they'll even look at it.",
            ],
            "competitor": [
                "{rival} came back with a lower quote and three months free. You need to get closer to that.",
                "We have a cheaper option on the table, I'm not going to pretend otherwise.",
            ],
            "security": [
                "Legal wants unlimited liability for data breaches in the contract. That's a must for them.",
                "IT needs the data hosted in-country, and that wasn't in your proposal.",
            ],
            "timing": [
                "I don't think we can sign this quarter. Everything new gets pushed into January.",
                "The board meeting moved, so I'll need more time before I can commit.",
            ],
        },
    },
    "neg-trade": {
        "who": "rep",
        "say": {
            "price": [
                "I hear you. If we move on price, I'd need something back, a two-year term or a signature by the end of the month.",
                "Rather than cut the rate, I could include driver training and the second depot's setup at no charge.",
            ],
            "competitor": [
                "I won't match a three-months-free offer, but I can take a lower rate to my manager if we start with all three depots.",
                "Let's compare like for like. Their quote leaves out proof of delivery; if we add that to theirs, where do we stand?",
            ],
            "security": [
                "Unlimited liability is hard for anyone. What I can offer is a higher cap for data incidents, at twice the annual fee.",
                "In-country hosting we can do. It adds a little to the price, and I'll hold the rest of the proposal as is.",
            ],
            "timing": [
                "If January is the reality, let's sign now with a January start, and I'll hold this year's pricing for you.",
                "Understood. What if we sign the pilot this quarter and the full rollout after the board meeting?",
            ],
        },
        "reply": [
            "Let me take that back to finance.",
            "That could work, put it in writing.",
            "Hm, that's closer. I'll need to check.",
            "Okay, that's fair.",
        ],
    },
    "neg-terms": {
        "who": "rep",
        "say": [
            "On payment, we usually invoice annually up front. Would quarterly in advance make it easier for finance?",
            "For liability, we can cap it at twelve months of fees, which is standard. Our legal team can join a call with yours.",
            "Go-live would be thirty days after signature, and we'll put the milestones into the order form.",
        ],
        "reply": [
            "Quarterly would help a lot.",
            "I'll pass that to legal, they'll want to talk.",
            "Okay, milestones in the order form are good.",
        ],
    },
    "~neg-close": {
        "who": "rep",
        "say": [
            "So where we've landed: I take the two-year option to my manager today, and I send the revised order form by {day}. Can we get thirty minutes with procurement on {day} to close it out?",
            "Let me put today's terms in writing. Could we book {day} with your CFO and legal to walk through the final version?",
            "I'll come back with approval on the rate by {day}. If it's a yes, can we aim for signatures the following week?",
        ],
        "reply": [
            "{day} works. I'll get procurement on the invite.",
            "Okay, send it over and I'll set up the call.",
            "If the number works, yes, the following week is realistic.",
        ],
    },
    # ---------------------------------------------------------------- off-SOP moments
    "~smalltalk": [
        ("Did you make it through the storm last week okay?", "Barely. We had two trucks stuck on the interstate for half a day."),
        ("How was the trade show in Chicago, did you go?", "I went for a day. Too many booths, not enough coffee."),
        ("I saw you just opened the new cross-dock, congrats on that.", "Thanks, it's been a madhouse but we're getting there."),
        ("Are you guys already gearing up for the holiday season?", "Always. It starts earlier every year."),
        ("Sorry I'm a minute late, my last call ran over.", "No worries, I just sat down myself."),
    ],
    "~digress": [
        ("By the way, are you working with anyone on warehouse scanning? Our handhelds are ancient.", "Not us, that's outside what we do, but I can send you a couple of names."),
        ("Sorry, side question, do you know if other distributors charge for delivery windows? We're debating it.", "Some do for premium windows. Happy to share what I see, but let's come back to that."),
        ("Oh, and one thing, our fuel costs are through the roof this year, that's what everyone upstairs is talking about.", "I hear that a lot. It's related, fewer wasted miles help, but let's park it for now."),
        ("Hang on, someone's at my door. Okay, sorry, I'm back.", "No problem at all."),
    ],
    "~pitch": [
        "So, a bit about us: Acme is the leading delivery visibility platform, with over four hundred customers, live ETAs, driver app, analytics, the whole thing.",
        "We just launched a new AI routing module which is honestly pretty amazing, and our dashboards are the best in the market.",
        "Our platform covers everything from dispatch to proof of delivery, and we integrate with basically every ERP out there.",
        "Let me just walk you through our main modules real quick before we get into your situation.",
    ],
    "~pitch-reply": [
        "Okay. I'm not sure how much of that applies to us.",
        "Sure. We mostly have one specific problem, though.",
        "Right. Can I tell you what we actually need?",
    ],
    "~weakclose": [
        ("Alright, I'll send over some material after the call, have a look and let me know what you think.", "Sounds good, I'll take a look when I get a chance."),
        ("Great chatting. Just reach out whenever you're ready to talk again.", "Will do. Thanks."),
        ("I'll shoot you an email with our brochure and we'll touch base at some point.", "Okay, sure."),
        ("So yeah, think it over and get back to me whenever suits.", "Sure, I'll circle back after the holidays maybe."),
    ],
    "~goodbye": [
        ("Thanks again, {c}. Talk soon.", "Thanks, {me}. Bye."),
        ("Appreciate your time, have a good rest of the day.", "You too, take care."),
        ("Thanks, that was really useful on my end.", "Same here. Bye now."),
    ],
}

ZH: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------- telesales-invitation
    "greet-introduce": {
        "who": "rep",
        "say": [
            "喂，{c}您好，我是艾克美智能的{me}，打扰您一下，现在说话方便吗？",
            "您好，请问是{co}的{c}吧？我这边是艾克美智能，我叫{me}。",
            "{c}您好，我是艾克美智能华东区的客户经理{me}，前阵子给您寄过一份资料。",
            "您好，打扰了，我是艾克美智能的{me}，上个月在工博会上跟您加过微信的。",
        ],
        "reply": [
            "嗯，是我，你说。",
            "哦，艾克美，有点印象。什么事？",
            "我在车间呢，有点吵，你讲快一点。",
            "你好，我五分钟后要开会，简单说吧。",
        ],
    },
    "state-purpose": {
        "who": "rep",
        "say": [
            "这次给您打电话，是想跟您聊聊咱们厂设备管理这一块，看看我们能不能帮上忙。",
            "是这样，我们最近在常州、无锡做了几个机加工厂的设备联网项目，想跟您这边也交流交流。",
            "打给您主要是因为贵司在我们官网上留过言，问过预测性维护的方案。",
            "不耽误您太久，就两三分钟，想了解下咱们厂今年有没有做数字化的打算。",
        ],
        "reply": [
            "设备管理啊，我们之前也接到过好几家的电话。",
            "常州那几家？你说说看，做的什么项目。",
            "留言？可能是我们信息部的同事留的。",
            "数字化嘛，老板倒是提过几次，你说吧。",
        ],
    },
    "confirm-need": {
        "who": "rep",
        "say": [
            "咱们厂里设备要是出了故障，一般是操作工报上来，还是有系统能提前发现？",
            "现在车间里关键设备有多少台？停机这块您觉得问题大不大？",
            "您这边目前最想解决的，是停机太多，还是维修成本太高？",
            "今年厂里有没有设备改造或者联网方面的计划？",
        ],
        "reply": [
            "基本上是坏了才知道，操作工打电话给维修班。",
            "一百来台CNC吧，停机确实是个事，上个月主轴坏了一台，耽误了一个礼拜。",
            "停机多，维修成本也高，两个都头疼。",
            "计划是有，老板说明年要搞智能工厂，具体还没定。",
        ],
    },
    "confirm-budget": {
        "who": "rep",
        "say": [
            "冒昧问一句，这方面今年有没有预留一些费用？",
            "要是做的话，咱们心里大概有个投入的范围吗？",
            "这类项目的钱，一般是走设备部的技改资金还是信息化的预算？",
            "预算是年初就定死了，还是年中也能申请？",
        ],
        "reply": [
            "技改资金每年有一块，具体多少我不好说。",
            "几十万应该可以，上百万就得老板点头了。",
            "一般走技改，信息部那边钱更少。",
            "年中可以申请，但是要有很充分的理由。",
        ],
    },
    "confirm-decision-maker": {
        "who": "rep",
        "say": [
            "像这种项目，最后是您这边定，还是要报给老板？",
            "除了设备部，还有哪些部门会参与选型？",
            "最终签合同的是厂长还是集团那边？",
            "方便的话，下次能不能把分管生产的副总也约上？",
        ],
        "reply": [
            "我这边先看，合适了再报给老板，老板拍板。",
            "信息部肯定要参与，采购也要走流程。",
            "超过五十万要报集团。",
            "副总很忙，先跟我聊吧，觉得靠谱我再引荐。",
        ],
    },
    "value-hook": {
        "who": "rep",
        "say": [
            "我们去年给无锡一家做液压件的工厂上了主轴振动监测，非计划停机少了差不多三成。",
            "跟您同行的一家汽配厂，用了我们的系统以后，维修备件一年少花了一百多万。",
            "我们可以先免费给您几台关键设备做个健康评估，出一份报告，您看看有没有价值。",
            "像您说的主轴突然坏，我们在常州刚处理过一个一模一样的情况，提前两周就报警了。",
        ],
        "reply": [
            "三成？真有这么多？",
            "省一百多万？那得看跟我们情况像不像。",
            "免费评估？那你们图什么？",
            "提前两周能发现，那确实有用。",
        ],
    },
    "customer-brush-off": {
        "who": "cust",
        "say": {
            "price": [
                "你们这种系统肯定不便宜吧，我们小厂用不起。",
                "上次有一家报了一百多万，老板直接就否了。",
            ],
            "competitor": [
                "我们已经在跟云工互联谈了，暂时不考虑别家。",
                "设备厂家自己就带远程监控，用不着再买一套。",
            ],
            "security": [
                "数据放到外面去我们老板肯定不同意。",
                "我们是军工配套企业，联网这种事情很敏感。",
            ],
            "timing": [
                "今年肯定来不及了，明年再说吧。",
                "你把资料发我微信吧，我回头看看，需要再考虑考虑。",
            ],
        },
    },
    "handle-brush-off": {
        "who": "rep",
        "say": {
            "price": [
                "理解，所以我们一般建议先从十几台关键设备做起，投入不大，效果出来了再扩。",
                "价格跟规模有关系，先看看哪些设备最值得做，这个评估是免费的。",
            ],
            "competitor": [
                "没关系，多比较一家也是好事，很多客户也是对比了三四家才定的。",
                "设备厂家的监控只管自己品牌，咱们厂里那么多品牌，还是得有个统一的平台。",
            ],
            "security": [
                "这个您放心，我们支持全部本地部署，服务器放在咱们自己机房，数据不出厂。",
                "我们做过好几家涉密单位，有专门的安全方案，可以当面给您讲。",
            ],
            "timing": [
                "不着急，今年先了解一下，明年做规划的时候心里有个数。",
                "资料我一定发，就是想先知道您最关心哪块，好发点有针对性的。",
            ],
        },
        "reply": [
            "那行吧。",
            "嗯，这样倒是可以。",
            "好，你接着说。",
            "你这么说我倒是有点兴趣。",
        ],
    },
    "propose-visit": {
        "who": "rep",
        "say": [
            "要不这样，我下周带我们的技术工程师过去，当面跟您详细聊聊，顺便看看现场？",
            "电话里说不清楚，我想约个时间到厂里拜访您一下，半个小时就够。",
            "我们这周正好在附近有个客户，能不能顺路过去看看您？",
            "要不先安排一次线上演示，您看看系统，觉得有用我们再上门？",
        ],
        "reply": [
            "带工程师来看看也行，车间可以进。",
            "半个小时可以，别太长。",
            "这周不行，下周吧。",
            "线上先看看吧，省得你们跑一趟。",
        ],
    },
    "confirm-time": {
        "who": "rep",
        "say": [
            "那就{day}下午两点，我们到厂门口给您打电话，您看行吗？",
            "好的，定在{day}上午十点，我一会儿把时间地址发您微信确认一下。",
            "{day}上午我们过去，到时候设备部的同事也能一起参加吗？",
            "那我把会议邀请发到您邮箱，{day}下午三点，线上的。",
        ],
        "reply": [
            "可以，那天下午我在。",
            "行，发我微信吧。",
            "好，我叫上维修班长一起。",
            "线上可以，链接发我邮箱。",
        ],
    },
    # ---------------------------------------------------------------- 客户拜访与初步调研 (discovery)
    "visit-company-intro": {
        "who": "rep",
        "say": [
            "先花两分钟介绍一下艾克美，我们专门做工业设备联网和预测性维护，在长三角服务了两百多家工厂。",
            "这几页是我们在机加工行业做过的项目，设备接入率基本都在九成以上。",
            "我们在苏州和宁波都有服务团队，出了问题两个小时内能到现场。",
        ],
        "reply": [
            "十二年？那你们时间不短了。",
            "这几家客户我们认识两家。",
            "两个小时能到，这个倒是可以。",
        ],
        "p_reply": 0.7,
    },
    "visit-current-situation": {
        "who": "rep",
        "say": [
            "能不能先跟我讲讲，咱们现在一条线从上料到出货是怎么走的？",
            "厂里的关键设备大概有多少台？都是哪些品牌，用了几年了？",
            "设备的运行数据现在是怎么记录的，有系统还是靠人工填表？",
            "维修这块，现在是定期保养，还是坏了再修？",
        ],
        "reply": [
            "我们有三个车间，机加、热处理和装配，机加车间设备最多，八十多台。",
            "八十多台，大部分是国产的，还有十几台德玛吉，最老的用了十二年了。",
            "靠人工，班长每天填一张表，月底汇总给我。",
            "名义上是定期保养，实际上基本是坏了再修。",
        ],
    },
    "visit-pain-points": {
        "who": "rep",
        "say": [
            "今年因为设备问题停过几次线？每次大概影响多少产值？",
            "您觉得现在交期老是紧张，主要卡在哪一个环节？",
            "如果设备问题一直这样下去，对明年的订单会有什么影响？",
            "老板现在最关心的是什么，是成本、交期还是质量？",
        ],
        "reply": [
            "大的停线有四五次吧，一次少说也是几十万的损失。",
            "还是设备，关键设备一停，后面全堵住了。",
            "明年有个大客户要审核我们的设备管理，到时候拿不出数据就麻烦了。",
            "交期。客户那边天天催。",
        ],
    },
    "customer-states-problem": {
        "who": "cust",
        "say": [
            "说白了，我们最怕的就是半夜设备出故障，没人知道，第二天早上才发现一整批都废了。",
            "维修全靠那两个老师傅，他们一请假，车间就慌了。",
            "领导要看设备利用率，我们报上去的数字自己都不信。",
            "电费一年比一年高，老板天天让我们降能耗，可是不知道从哪下手。",
        ],
        "reply": [
            "明白，这种情况我们在别的厂也见过很多。",
            "嗯，这个确实是普遍的问题。",
            "了解。",
        ],
        "p_reply": 0.6,
    },
    "visit-budget": {
        "who": "rep",
        "say": [
            "这个事情，咱们内部有没有做过投入产出的测算？",
            "如果要做，资金大概是什么规模，是今年的技改资金吗？",
            "老板对投资回收期一般是什么要求？",
            "预算是厂里自己出，还是要集团批？",
        ],
        "reply": [
            "没正式算过，但老板说过，能两年回本就可以做。",
            "今年技改还剩一点，大头得放到明年的预算里。",
            "一般要求两年以内。",
            "一百万以下厂里自己定，再多要报集团。",
        ],
    },
    "visit-decision-chain": {
        "who": "rep",
        "say": [
            "这个项目如果推进，除了您以外，还有哪些领导会参与？",
            "最后拍板的是何厂长，还是要上集团的投资会？",
            "信息部和设备部，这件事一般谁牵头？",
            "方不方便下次安排我们跟分管生产的副总见一面？",
        ],
        "reply": [
            "设备部牵头，信息部配合，最后厂长拍板。",
            "要上集团，不过厂长的意见很关键。",
            "我们设备部牵头，这个没问题。",
            "副总那边我可以帮你约，但得先有个方案。",
        ],
    },
    "~visit-next": {
        "who": "rep",
        "say": [
            "那我们回去根据今天的情况出一个初步方案，{day}带过来给您过一下，您看可以吗？",
            "下一步我们想安排工程师来做一次现场勘查，{day}您这边方便吗？",
            "我们两周内把初步方案和投资测算做出来，{day}约您和何厂长一起看，行吗？",
        ],
        "reply": [
            "行，{day}上午我在厂里。",
            "可以，到时候我叫上信息部的人。",
            "好，先看方案再说。",
        ],
    },
    # ---------------------------------------------------------------- 方案演示与技术交流
    "tech-demo": {
        "who": "rep",
        "say": [
            "各位领导，我先给大家看一下设备总览，每台设备现在是运行、待机还是报警，一眼就能看出来。",
            "大家看这台机床，点进去是主轴振动的趋势图，这条线开始往上走，就是轴承快不行了。",
            "报警触发以后，系统会自动生成维修工单，推到维修师傅的手机上，我现场操作一遍。",
            "这个是每天早上自动发给管理层的设备利用率日报，按车间、按班组都能看。",
        ],
        "reply": [
            "这个界面挺直观的。",
            "那这条线超过多少才报警？",
            "手机上能直接接单吗？",
            "日报能导出Excel吗？",
        ],
        "p_reply": 0.7,
    },
    "customer-tech-question": {
        "who": "cust",
        "say": [
            "我们有一批九十年代的老机床，没有任何通讯口，这种怎么接？",
            "数据是放在你们云上，还是可以放在我们自己机房？",
            "跟我们现在用的金蝶ERP能不能打通？",
            "车间里网络信号不好，断网了数据怎么办？",
            "发那科和三菱的系统你们都能采吗？",
        ],
    },
    "tech-answer": {
        "who": "rep",
        "say": [
            "老机床我们加装一个采集模块，读电流和振动就行，不用动原来的电气柜。",
            "可以全部本地化部署，服务器放在咱们机房，数据不出厂区。",
            "金蝶我们有现成的接口，之前给两家客户做过，工单和备件都能同步。",
            "边缘网关本地能存七天的数据，网络恢复后自动补传，不会丢。",
            "发那科、三菱、西门子这些主流数控系统我们都是直接采的。",
        ],
        "reply": [
            "不动电气柜就好，那批老设备谁都不敢碰。",
            "本地部署这条要写进方案里。",
            "金蝶能打通的话，备件库存就不用两边录了。",
            "七天够了，我们断网一般就几个小时。",
            "那就好，我们发那科的最多。",
        ],
        "p_reply": 0.6,
    },
    "shape-criteria": {
        "who": "rep",
        "say": [
            "建议咱们在技术要求里写清楚老设备的接入方式，不然有的厂家只能接新设备。",
            "选型的时候，建议把同行业落地案例和上线时间作为重点评分项。",
            "售后响应时间建议单独列一条，比如四小时到现场，这个对咱们很重要。",
            "本地部署和数据安全这两条，最好在招标文件里明确提出来。",
        ],
        "reply": [
            "这个建议不错，我们回去跟采购说一下。",
            "嗯，评分标准还在讨论，你可以把建议发给我。",
            "好，这条我们记下来。",
        ],
    },
    "probe-competitors": {
        "who": "rep",
        "say": [
            "这次除了我们，还有哪几家在跟这个项目？",
            "之前有别的厂家来给各位做过交流吗？大家印象怎么样？",
            "智控科技上个月好像也来过，您觉得他们的方案哪些地方比较好？",
            "几家交流下来，各位领导目前比较看重哪些方面？",
        ],
        "reply": [
            "还有两家，云工互联和智控科技。",
            "智控来过一次，界面做得挺漂亮，但是老设备他们接不了。",
            "价格上他们便宜一些，这个不瞒你。",
            "领导主要看稳定性和售后。",
        ],
    },
    # ---------------------------------------------------------------- 商务谈判
    "customer-price-pushback": {
        "who": "cust",
        "say": {
            "price": [
                "你们这个报价太贵了，比我们预算高出一大截，领导那边肯定通不过。",
                "价格再降一点吧，不然真的没法往上报。",
            ],
            "competitor": [
                "云工互联的报价比你们低了快两成，你们得给个说法。",
                "另外一家都送三年运维了，你们才给一年。",
            ],
            "security": [
                "我们法务要求数据泄露的责任你们全担，这条不改没法签。",
                "信息部要求系统必须过等保三级，费用你们得包含进去。",
            ],
            "timing": [
                "今年的预算已经用得差不多了，要签可能得等明年，我们需要再考虑一下。",
                "集团投资会推迟了，时间上我们得再看看。",
            ],
        },
    },
    "price-negotiation": {
        "who": "rep",
        "say": {
            "price": [
                "价格我可以回去再申请一下，不过如果降价，付款方式上您这边能不能支持一下？",
                "单价的空间确实很小了，我们可以把培训和备用网关都包进去。",
            ],
            "competitor": [
                "如果合同能在这个月底前签下来，我们可以多送一年运维服务，跟他们就差不多了。",
                "价格不能只看总数，他们的报价里没有老设备的采集模块，加上以后其实跟我们差不多。",
            ],
            "security": [
                "数据泄露全责这条确实没法接受，我们可以把赔偿上限提高到合同总额，价格维持不变。",
                "等保三级的测评费用我们可以承担一半，这个我回去申请。",
            ],
            "timing": [
                "要不分两期签，一期今年先按剩下的预算来，二期明年再做。",
                "可以先签意向协议，价格我们给您保留到明年三月。",
            ],
        },
        "reply": [
            "你先说能降多少，我好跟领导汇报。",
            "这个可以考虑。",
            "分开来看的话，我回去再算一下。",
            "那我跟领导汇报一下。",
        ],
    },
    "payment-terms": {
        "who": "rep",
        "say": [
            "付款我们建议按三四三来，预付三成，到货四成，验收合格后付三成。",
            "质保金留百分之五没问题，质保期一年，您看行吗？",
            "贵司财务这边一般是电汇还是承兑？",
            "发票我们开百分之十三的专票。",
        ],
        "reply": [
            "预付三成多了，两成吧。",
            "质保金我们一般留百分之十。",
            "我们一般是六个月承兑。",
            "专票没问题。",
        ],
    },
    "contract-terms": {
        "who": "rep",
        "say": [
            "合同里违约金这一条，我们法务希望封顶在合同总额的百分之十。",
            "交货期我们写九十天，从预付款到账开始算，您看可以吗？",
            "验收条款建议写明上线运行三十天后组织验收。",
            "合同就用贵司的模板，我们法务提了几处修改，稍后发给您。",
        ],
        "reply": [
            "违约金我们法务再看看。",
            "九十天可以接受。",
            "验收这条我同意。",
            "好，你们把修改意见发过来。",
        ],
    },
    "~neg-next": {
        "who": "rep",
        "say": [
            "那今天就先定这几条，修改后的合同我{day}之前发您，您看{day}下午能不能约法务一起过一遍？",
            "价格我今天回去申请，{day}给您正式回复，到时候我们把签约时间也定下来。",
            "我整理一份谈判纪要，{day}上午前发给您，双方确认后就走合同审批。",
        ],
        "reply": [
            "行，{day}等你消息。",
            "可以，我把法务也约上。",
            "好，纪要发我邮箱。",
        ],
    },
    # ---------------------------------------------------------------- off-SOP moments
    "~smalltalk": [
        ("您这边厂区又扩建了吧？我刚进门看到在盖新厂房。", "对，明年新车间投产，现在忙得不行。"),
        ("今天路上堵死了，高架上一动不动。", "这个点是这样，你们从苏州过来的吧？"),
        ("听说你们上个月拿了个大订单，恭喜恭喜。", "哈哈，订单是多了，压力也大了。"),
        ("这两天降温挺厉害，您注意身体。", "是啊，车间里倒还好，办公室冷。"),
    ],
    "~digress": [
        ("对了，你们认不认识做立体仓库的？我们仓库也想改一改。", "认识几家，回头我把联系方式发您，咱们先说设备这块。"),
        ("顺便问一下，你们能不能做环保在线监测？最近环保局查得紧。", "环保这块不是我们的主业，可以帮您问问合作伙伴。"),
        ("哎，你稍等，我接个电话。……好了，你继续。", "没事没事。"),
        ("说到这个，我们隔壁那家厂去年上了个MES，听说用得一塌糊涂。", "这种情况挺多的，关键还是要先把设备数据采准。"),
    ],
    "~pitch": [
        "我先介绍一下我们艾克美，我们是国内领先的工业物联网平台，拥有几十项专利，服务了两百多家客户。",
        "我们的平台功能非常全，设备监控、预测性维护、能耗管理、MES、质量追溯，全部都有。",
        "我们的AI算法是自主研发的，准确率行业第一，很多上市公司都在用。",
        "我先把我们的产品完整给您过一遍，您听完就明白了。",
    ],
    "~pitch-reply": [
        "嗯……功能是挺多，但我们不一定用得上。",
        "你先别讲这么多，我们的情况比较特殊。",
        "这些听起来都差不多，你们跟别家有什么区别？",
    ],
    "~weakclose": [
        ("那好，我先把资料发您微信，您有空看看，有需要随时联系我。", "行，我看看再说。"),
        ("今天就先聊到这儿，您考虑考虑，回头我们再联系。", "好的，再说吧。"),
        ("那我等您消息，您什么时候方便了再找我。", "嗯，好。"),
        ("资料我发您邮箱，您先研究研究。", "行，有空我看一下。"),
    ],
    "~goodbye": [
        ("好的，那今天就不多打扰了，谢谢{c}。", "好，再见。"),
        ("谢谢您抽时间，辛苦了。", "客气了，慢走。"),
        ("那先这样，有事随时微信联系。", "好嘞。"),
    ],
}
