package triage

// The built-in cue lists. Each list is a named rule; a triage reason names
// the rule and the words of the message that matched it. Crisis and
// listening keywords come from the guideline pack instead, so HQ can tune
// them without a new build.
var cueLists = map[string][]string{
	// Spam and scams: never answered.
	"spam": {
		"earn $*", "earn money", "make money", "make $*", "work from home", "from home daily", "passive income",
		"get followers", "buy followers", "free followers", "10k followers", "more followers", "grow your page",
		"grow your account", "promote your page", "promote your account", "boost your page", "dm for promo", "dm for collab",
		"send us a dm to collaborate", "crypto", "bitcoin", "btc", "forex", "nft", "investment opportunity", "binary options",
		"click the link in my bio", "link in bio", "check my bio", "check out my page", "visit my page", "check my profile",
		"giveaway winner", "you have won", "claim your prize", "cash app", "sugar daddy", "onlyfans", "hot singles",
		"ambassador program", "brand ambassador", "seo services", "web design services", "whatsapp me", "telegram me",
		"verify your page", "page will be disabled", "page has been reported", "copyright violation",
		"you've been selected", "you have been selected", "claim before", "claim now", "claim your", "hello dear",
		"be friends", "saw your profile", "free robux", "free iphone", "iphone 15 winner", "daily giveaways",
		"huge exposure", "feature you on our page", "dm us for pricing", "promote it on our page", "cheap promo",
		"tickets to the", "dm if interested", "crypto signals", "click here", "check my story", "selling my",
		"my online store", "learn my secret", "making $*",
	},
	// Jobs and applications: owned by HR, no buying stage.
	"jobs": {
		"hiring", "are you hiring", "job", "jobs", "apply for", "apply to", "apply online", "how do i apply", "to apply",
		"applied for", "applied to", "applying for", "applying to", "application", "interview", "resume",
		"openings for", "any openings", "weekend shifts", "shifts", "hear back",
		"résumé", "cv", "position", "positions", "vacancy", "vacancies", "opening for", "part time", "part-time",
		"full time", "full-time", "work there", "work for you", "work at copper kettle", "looking for work",
		"employment", "pay rate", "hourly rate", "paycheck", "payroll", "my shift", "schedule me", "line cook",
		"cashier job", "cashier position", "crew member", "shift lead", "shift leader", "dishwasher", "onboarding",
		"work permit", "internship", "teenager work", "16 year old", "15 year old", "minimum age",
	},
	// A purchase under way: order status, delivery, checkout.
	"purchase": {
		"where is my", "where's my", "still waiting", "been waiting", "waiting for my", "hasn't arrived", "hasnt arrived",
		"has not arrived", "not arrived", "not here yet", "never arrived", "never came", "never showed", "hasn't come",
		"still not here", "on its way", "out for delivery", "driver", "tracking", "track my", "order status",
		"status of my order", "my order is", "order hasn't", "order has not", "order isn't", "placed an order", "placed my order",
		"just ordered", "just placed", "currently waiting", "ready for pickup", "ready for pick up", "pickup time",
		"pick up time", "is my order", "cancel my order", "cancel an order", "checkout", "check out page", "payment failed",
		"payment declined", "payment won't", "card declined", "card was declined", "won't go through", "wont go through",
		"not going through", "charged twice", "double charged", "charged me twice", "app keeps crashing", "app crashed",
		"app won't", "app wont", "app isn't", "app is not", "app not working", "error message", "code isn't working",
		"code is not working", "code won't", "code wont", "coupon isn't", "coupon won't", "coupon not working",
		"promo code not", "promo code isn't", "promo code won't", "doesn't apply", "won't apply", "wont apply", "not applying",
		"in the drive thru", "in the drive-thru", "in line", "at the counter right now", "right now",
		"still says", "min ago", "mins ago", "minutes ago", "standing at", "sitting in the", "haven't even started",
		"havent even started", "no sign of", "still no", "trying to pay", "pay for my order", "place an order",
		"when i pick up", "when i pick it up", "change my order", "change the address", "by mistake", "wrong address",
	},
	// Before a purchase: menu, hours, prices, allergens, bookings.
	"pre_purchase": {
		"open", "opening", "close", "closing", "hours", "what time", "open today", "open tomorrow", "open on",
		"menu", "price", "prices", "how much", "cost", "vegan", "vegetarian", "veggie", "plant based", "plant-based",
		"gluten", "gluten-free", "celiac", "coeliac", "allergen", "allergens", "allergy", "allergies", "nut", "nuts",
		"peanut", "peanuts", "sesame", "dairy", "lactose", "halal", "kosher", "ingredients", "calories", "fried in",
		"parking", "park", "reservation", "reservations", "reserve", "book a table", "booking", "table for",
		"catering", "cater", "group order", "large order", "party of", "birthday party", "office lunch", "event",
		"deliver to", "do you deliver", "delivery area", "deliver in", "wheelchair", "accessible", "high chair",
		"high chairs", "kids menu", "kid's menu", "dog friendly", "dogs allowed", "wifi", "do you have", "do you guys have",
		"do you sell", "do you still have", "do you do", "do you offer", "is there", "are there", "can i bring",
		"can we bring", "coming in", "planning to", "thinking of", "going to visit", "visiting", "next week", "this weekend",
		"new location", "opening soon", "when are you opening", "how spicy", "secret menu", "seasonal",
		"allergic", "what's in", "whats in", "made with", "does it contain", "egg", "soy", "shellfish", "mustard",
		"bringing back", "bring back", "do you still", "still do", "gift card", "gift cards",
	},
	// Future visits: "we're coming in this weekend".
	"future": {
		"planning to", "thinking of", "going to visit", "visiting", "next week", "this weekend", "coming in",
		"can't wait to", "cant wait to", "will come", "gonna come", "going to come",
	},
	// Offers, loyalty, gift cards, campaigns: marketing's questions.
	"marketing_topic": {
		"deals", "any deals", "a deal on", "offer", "offers", "kids eat free", "eat free", "specials", "daily special",
		"weekly special", "promo", "promotion", "coupon", "coupons", "discount", "voucher",
		"kettle club", "loyalty", "points", "rewards", "reward",
		"birthday reward", "free burger", "bogo", "happy hour", "student discount", "military discount", "newsletter",
		"contest", "giveaway", "campaign", "commercial", "merch", "t-shirt",
	},
	// Weak signs of a past visit: common words that count half.
	"post_weak": {
		"was", "were", "ordered", "got", "ate", "eaten", "had", "went", "tried",
	},
	// After the meal: experience, complaints, refunds, lost property.
	"post_purchase": {
		"visited", "came in", "stopped by", "after one bite", "one bite", "just had", "had the", "tried the",
		"last night", "yesterday", "earlier today", "this morning", "this afternoon", "last week", "tonight's",
		"my food", "our food", "my burger", "my fries", "my meal", "our meal", "my order was", "the order was",
		"received", "arrived", "delivered", "came cold", "served", "staff", "service", "server", "cashier was",
		"refund", "refunded", "money back", "receipt", "left my", "lost my", "forgot my", "left a", "left behind",
		"lost and found", "found my", "dropped my", "best burger", "best burgers", "best fries", "thank you for",
		"thanks for", "thanks to", "shoutout", "shout out", "shout-out", "delicious", "amazing", "loved", "love",
		"tasty", "awesome", "great food", "never again", "won't be back", "wont be back", "will be back",
		"coming back", "first time", "every time", "experience", "visit", "this place", "our spot", "my spot",
		"go-to", "regular", "crew", "team", "hit different", "all sorted", "quick reply", "charged twice",
		"double charged", "points", "balance", "tasted", "tastes", "taste",
	},
	// Food, drink and people at the store: praise or blame of them is
	// about a visit that happened.
	"experience_subject": {
		"burger", "burgers", "fries", "shake", "shakes", "milkshake", "bun", "patty", "sauce", "ranch", "chicken",
		"sandwich", "pickles", "onion rings", "nuggets", "tenders", "combo", "meal", "food", "staff", "cashier",
		"server", "crew", "manager", "bacon", "cheese", "smash", "brioche", "smokehouse", "kettle fries",
	},
	// Past-time markers turn a payment or order problem into an after-visit
	// matter.
	"past_time": {
		"last night", "yesterday", "last week", "last weekend", "days ago", "a week ago", "last month", "on monday",
		"on tuesday", "on wednesday", "on thursday", "on friday", "on saturday", "on sunday", "this morning",
		"earlier today",
	},
	// Questions put to the crowd, not the store.
	"crowd_question": {
		"anyone know", "anyone else", "does anyone", "is anyone", "anybody know", "anybody else", "who else",
		"who's going", "whos going", "who is going", "anyone going", "anyone wanna", "anyone want",
	},
	// Creators, bloggers and influencers: PR's business, not a crisis.
	"pr_topic": {
		"content creator", "food creator", "influencer", "collaboration", "food blog",
		"feature your restaurant", "ugc", "media kit",
	},
	// Problems: something went wrong; someone must answer.
	"complaint": {
		"cold", "lukewarm", "soggy", "stale", "burnt", "overcooked", "dry", "greasy", "raw", "wrong", "missing",
		"forgot", "forgotten", "left out", "not included", "incorrect", "mixed up", "messed up", "rude", "attitude",
		"ignored", "unprofessional", "waited", "wait time", "took forever", "took ages", "took over", "slow", "long wait",
		"over an hour", "45 minutes", "40 minutes", "30 minutes", "an hour", "dirty", "filthy", "sticky", "gross",
		"disgusting", "smelled", "smells", "overpriced", "rip off", "ripoff", "refund", "money back", "charged",
		"overcharged", "disappointed", "disappointing", "terrible", "horrible", "awful", "worst", "bad", "poor",
		"never again", "won't be back", "wont be back", "unacceptable", "complain", "complaint", "not happy",
		"unhappy", "upset", "angry", "furious", "frustrated", "frustrating", "ridiculous", "joke", "fix this",
		"do better", "tiny", "smaller", "shrunk", "not what i ordered", "not what we ordered", "didn't get",
		"didnt get", "did not get", "never got", "never received", "closed early", "were closed", "was closed",
		"broken", "out of order", "no one answered", "nobody answered", "no response", "no reply",
		"cardboard", "bland", "tasteless", "flat", "not ok", "not okay", "i'm done", "im done", "came without",
		"without the", "third time", "3rd time", "still no", "no sign of", "failed", "fix it", "fix your",
		"errors out", "error", "kicks me", "won't let me", "wont let me", "disgraceful", "disrespected",
		"disrespectful", "kicked", "screwed up", "isn't working", "isnt working", "not working", "doesn't work",
		"invalid", "nightmare",
	},
	// Service requests after a visit: lost property, receipts, loyalty
	// accounts. Customer care's work, though nobody is complaining.
	"care_request": {
		"left my", "lost my", "forgot my", "left his", "left her", "left our", "hand it in", "handed in", "lost and found",
		"found my", "receipt", "copy of", "my points", "balance shows", "points saved", "refund",
	},
	// Requests: the writer wants something done.
	"request": {
		"please", "pls", "plz", "can you", "could you", "can u", "would you", "will you", "i'd like", "i would like",
		"we'd like", "we would like", "i want", "looking for", "let me know",
		"lmk", "get back to me", "contact me", "call me", "email me", "message me", "dm me", "reach out", "help",
		"wondering", "want to know", "would love to know", "interested in", "how do i", "how can i", "is it possible",
		"any chance", "i'm trying to", "trying to", "tell me", "call me", "speak to", "talk to", "i demand",
	},
	// Question words at the start of a sentence, for questions without "?".
	"question_start": {
		"do you", "does", "did you", "are you", "is it", "is the", "is your", "is there", "are there", "can i",
		"can we", "can you", "could i", "could you", "may i", "will you", "will there", "what", "what's", "whats",
		"when", "where", "which", "who", "why", "how", "any", "u guys", "you guys open", "anyone know", "r u", "ru",
	},
	// Thanks and praise without a question: answered with a like, not a reply.
	"thanks": {
		"thank you", "thanks", "thx", "ty", "cheers", "appreciate", "appreciated", "love", "loved", "love this",
		"love you", "best", "amazing", "awesome", "delicious", "yum", "yummy", "so good", "great", "fantastic",
		"perfect", "incredible", "fire", "slaps", "goat", "10/10", "obsessed", "can't wait", "cant wait",
		"favorite", "favourite", "the best", "shoutout", "shout out", "kudos",
	},
}

// Minimum compound score changes that the cue rules apply. A complaint
// without strongly negative words ("waited 40 minutes for a cold burger")
// still reads as negative to a person; VADER alone calls it neutral.
const (
	complaintSentimentCap = -0.25
	positiveThreshold     = 0.05
	negativeThreshold     = -0.05
)

// domainLexicon extends VADER's lexicon with food-service slang and
// complaint words it lacks or reads the other way ("fire" is praise here).
var domainLexicon = map[string]float64{
	"fire": 1.8, "slaps": 2.0, "bussin": 2.0, "unreal": 1.5, "yum": 2.2, "fave": 1.9, "goat": 1.5,
	"soggy": -1.5, "stale": -1.5, "bland": -1.2, "tasteless": -1.5, "cardboard": -1.0, "overcooked": -1.3,
	"undercooked": -1.8, "lukewarm": -1.0, "greasy": -1.0, "burnt": -1.5, "disgraceful": -2.5, "overpriced": -1.5,
	"ripoff": -2.0,
}

// emojiWords re-reads emoji the way customers use them about food: VADER's
// own descriptions make 🔥 negative ("fire") and 😭 sad.
var emojiWords = map[string]string{
	"🔥": "fire", "🤤": "yum", "😋": "yum", "🫠": "yum", "🙌": "yay", "🥳": "yay", "🥹": "sweet",
	"😡": "angry", "🤬": "angry", "🤡": "ridiculous", "🤮": "disgusting", "😭": "", "💀": "", "👀": "",
}
