"""Realistic value pools the samplers draw from: places, people, dates, products, media...

Everything here is plain data plus a few helpers that draw dates, times and e-mail
addresses from a :class:`random.Random`, so generation stays reproducible.
"""

from __future__ import annotations

import datetime as _dt
import random

# city -> (country, typical temperature in celsius, latitude, longitude, timezone)
CITY_INFO: dict[str, tuple[str, int, float, float, str]] = {
    "Paris": ("France", 14, 48.8566, 2.3522, "Europe/Paris"),
    "London": ("United Kingdom", 12, 51.5074, -0.1278, "Europe/London"),
    "Rome": ("Italy", 18, 41.9028, 12.4964, "Europe/Rome"),
    "Berlin": ("Germany", 11, 52.52, 13.405, "Europe/Berlin"),
    "Madrid": ("Spain", 17, 40.4168, -3.7038, "Europe/Madrid"),
    "Lisbon": ("Portugal", 19, 38.7223, -9.1393, "Europe/Lisbon"),
    "Amsterdam": ("Netherlands", 11, 52.3676, 4.9041, "Europe/Amsterdam"),
    "Vienna": ("Austria", 12, 48.2082, 16.3738, "Europe/Vienna"),
    "Prague": ("Czech Republic", 10, 50.0755, 14.4378, "Europe/Prague"),
    "Stockholm": ("Sweden", 8, 59.3293, 18.0686, "Europe/Stockholm"),
    "Oslo": ("Norway", 7, 59.9139, 10.7522, "Europe/Oslo"),
    "Dublin": ("Ireland", 10, 53.3498, -6.2603, "Europe/Dublin"),
    "Athens": ("Greece", 20, 37.9838, 23.7275, "Europe/Athens"),
    "Istanbul": ("Turkey", 16, 41.0082, 28.9784, "Europe/Istanbul"),
    "New York": ("United States", 13, 40.7128, -74.006, "America/New_York"),
    "Chicago": ("United States", 10, 41.8781, -87.6298, "America/Chicago"),
    "San Francisco": ("United States", 15, 37.7749, -122.4194, "America/Los_Angeles"),
    "Los Angeles": ("United States", 19, 34.0522, -118.2437, "America/Los_Angeles"),
    "Seattle": ("United States", 11, 47.6062, -122.3321, "America/Los_Angeles"),
    "Miami": ("United States", 25, 25.7617, -80.1918, "America/New_York"),
    "Toronto": ("Canada", 9, 43.6532, -79.3832, "America/Toronto"),
    "Vancouver": ("Canada", 10, 49.2827, -123.1207, "America/Vancouver"),
    "Mexico City": ("Mexico", 17, 19.4326, -99.1332, "America/Mexico_City"),
    "Sao Paulo": ("Brazil", 20, -23.5505, -46.6333, "America/Sao_Paulo"),
    "Buenos Aires": ("Argentina", 18, -34.6037, -58.3816, "America/Argentina/Buenos_Aires"),
    "Tokyo": ("Japan", 16, 35.6762, 139.6503, "Asia/Tokyo"),
    "Osaka": ("Japan", 17, 34.6937, 135.5023, "Asia/Tokyo"),
    "Seoul": ("South Korea", 13, 37.5665, 126.978, "Asia/Seoul"),
    "Beijing": ("China", 13, 39.9042, 116.4074, "Asia/Shanghai"),
    "Singapore": ("Singapore", 28, 1.3521, 103.8198, "Asia/Singapore"),
    "Bangkok": ("Thailand", 29, 13.7563, 100.5018, "Asia/Bangkok"),
    "Mumbai": ("India", 28, 19.076, 72.8777, "Asia/Kolkata"),
    "Dubai": ("United Arab Emirates", 29, 25.2048, 55.2708, "Asia/Dubai"),
    "Cairo": ("Egypt", 23, 30.0444, 31.2357, "Africa/Cairo"),
    "Nairobi": ("Kenya", 19, -1.2921, 36.8219, "Africa/Nairobi"),
    "Cape Town": ("South Africa", 17, -33.9249, 18.4241, "Africa/Johannesburg"),
    "Sydney": ("Australia", 18, -33.8688, 151.2093, "Australia/Sydney"),
    "Melbourne": ("Australia", 15, -37.8136, 144.9631, "Australia/Melbourne"),
    "Auckland": ("New Zealand", 15, -36.8485, 174.7633, "Pacific/Auckland"),
    "Reykjavik": ("Iceland", 5, 64.1466, -21.9426, "Atlantic/Reykjavik"),
}
CITIES = list(CITY_INFO)
COUNTRIES = sorted({info[0] for info in CITY_INFO.values()})
CITIZENSHIPS = ["United States", "Canada", "United Kingdom", "Germany", "France", "India", "Japan",
                "Brazil", "Australia", "Mexico", "South Africa", "Italy", "Spain", "Kenya"]
AIRPORTS = {"Paris": "CDG", "London": "LHR", "Rome": "FCO", "Berlin": "BER", "Madrid": "MAD",
            "Lisbon": "LIS", "Amsterdam": "AMS", "New York": "JFK", "Chicago": "ORD",
            "San Francisco": "SFO", "Los Angeles": "LAX", "Toronto": "YYZ", "Tokyo": "HND",
            "Singapore": "SIN", "Dubai": "DXB", "Sydney": "SYD", "Seoul": "ICN", "Mumbai": "BOM",
            "Miami": "MIA", "Istanbul": "IST"}
AIRLINES = ["Air France", "Lufthansa", "British Airways", "Delta", "United", "KLM", "Emirates",
            "Singapore Airlines", "ANA", "Iberia", "Qantas", "Turkish Airlines"]
STREETS = ["221B Baker Street, London", "1600 Pennsylvania Avenue NW, Washington",
           "350 Fifth Avenue, New York", "10 Downing Street, London", "5 Avenue Anatole France, Paris",
           "1 Infinite Loop, Cupertino", "Unter den Linden 77, Berlin", "Piazza del Colosseo 1, Rome",
           "2 Macquarie Street, Sydney", "1-1 Chiyoda, Tokyo", "Carrer de Mallorca 401, Barcelona",
           "100 Queen Street West, Toronto", "Dam Square 1, Amsterdam", "233 S Wacker Drive, Chicago"]

FIRST_NAMES = ["Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "James",
               "Keiko", "Liam", "Maria", "Noah", "Olivia", "Priya", "Quentin", "Rosa", "Samuel",
               "Tara", "Umar", "Valeria", "William", "Xin", "Yusuf", "Zoe", "Mateo", "Chloe", "Arjun", "Lena"]
LAST_NAMES = ["Smith", "Johnson", "Garcia", "Nguyen", "Muller", "Rossi", "Dubois", "Tanaka", "Kim",
              "Patel", "Okafor", "Silva", "Kowalski", "Andersen", "Brown", "Martin", "Lopez", "Cohen",
              "Haddad", "Fischer", "Moreau", "Ivanova", "Wilson", "Costa"]
EMAIL_DOMAINS = ["example.com", "mail.example.org", "company.example", "acme.example.com"]

MEETING_TITLES = ["Team standup", "Budget review", "Project kickoff", "Dentist appointment",
                  "Lunch with Sam", "Quarterly planning", "1:1 with manager", "Yoga class",
                  "Client demo", "Design review", "Parent-teacher meeting", "Book club",
                  "Interview with candidate", "Sprint retrospective", "Car service"]
EMAIL_SUBJECTS = ["Q3 report", "Meeting notes", "Invoice 4471", "Weekend plans", "Project update",
                  "Travel itinerary", "Contract draft", "Welcome aboard", "Offsite agenda", "Lunch on Friday"]
EMAIL_BODIES = ["Please review the draft by Friday.", "The meeting moved to 3pm tomorrow.",
                "Thanks for your help last week!", "Can we reschedule our call?",
                "Attached are the slides from today.", "I will be out of office until Monday.",
                "Let me know if the budget works for you.", "Looking forward to seeing you there.",
                "The invoice has been paid.", "Could you send me the latest numbers?"]
SEARCH_QUERIES = ["invoice", "flight confirmation", "password reset", "newsletter", "team offsite",
                  "receipt", "job application", "conference", "shipping notice", "birthday"]
TODO_ITEMS = ["Renew passport", "Buy birthday gift for Mom", "Submit expense report", "Call the plumber",
              "Finish the slide deck", "Book dentist appointment", "Pay the electricity bill",
              "Water the plants", "Prepare tax documents", "Return library books", "Clean the garage"]
TAGS = ["work", "home", "urgent", "errands", "finance", "health", "family", "travel"]

STOCKS = {"AAPL": ("Apple", 190.0), "MSFT": ("Microsoft", 410.0), "GOOGL": ("Alphabet", 170.0),
          "AMZN": ("Amazon", 180.0), "TSLA": ("Tesla", 240.0), "NVDA": ("NVIDIA", 120.0),
          "META": ("Meta", 500.0), "NFLX": ("Netflix", 630.0), "IBM": ("IBM", 185.0),
          "KO": ("Coca-Cola", 62.0), "DIS": ("Disney", 100.0), "NKE": ("Nike", 95.0)}
CURRENCIES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.9, "CAD": 1.36,
              "AUD": 1.52, "INR": 83.2, "CNY": 7.23, "MXN": 17.1, "BRL": 5.05, "SEK": 10.6}
CRYPTO = {"bitcoin": 64000.0, "ethereum": 3100.0, "solana": 145.0, "cardano": 0.45, "dogecoin": 0.15}

PRODUCTS = ["wireless headphones", "running shoes", "coffee grinder", "yoga mat", "desk lamp",
            "mechanical keyboard", "backpack", "water bottle", "office chair", "air fryer",
            "electric toothbrush", "phone charger", "winter jacket", "board game", "tent"]
GROCERIES = ["milk", "eggs", "bread", "bananas", "spinach", "chicken breast", "rice", "tomatoes",
             "olive oil", "cheddar cheese", "apples", "onions", "garlic", "pasta", "yogurt", "coffee"]
INGREDIENTS = ["chicken", "tofu", "salmon", "chickpeas", "mushrooms", "spinach", "potatoes",
               "tomatoes", "rice", "eggs", "beef", "lentils", "zucchini", "shrimp", "avocado"]
FOODS = ["banana", "apple", "brown rice", "chicken breast", "almonds", "oatmeal", "salmon",
         "broccoli", "avocado", "greek yogurt", "peanut butter", "sweet potato"]
RECIPES = ["pancakes", "lasagna", "chocolate chip cookies", "vegetable curry", "banana bread",
           "guacamole", "chili con carne", "risotto", "apple pie", "pad thai"]

SONGS = {"Bohemian Rhapsody": "Queen", "Imagine": "John Lennon", "Hey Jude": "The Beatles",
         "Rolling in the Deep": "Adele", "Billie Jean": "Michael Jackson", "Shape of You": "Ed Sheeran",
         "Hotel California": "Eagles", "Blinding Lights": "The Weeknd", "Yesterday": "The Beatles",
         "Wonderwall": "Oasis", "Halo": "Beyonce", "Smells Like Teen Spirit": "Nirvana"}
ARTISTS = sorted(set(SONGS.values()) | {"Taylor Swift", "Miles Davis", "Daft Punk", "Norah Jones"})
PLAYLIST_NAMES = ["Morning run", "Focus mode", "Road trip", "Sunday chill", "Party mix", "Dinner jazz"]
GENRES = ["jazz", "classical", "rock", "lo-fi", "pop", "hip hop", "ambient"]

NEWS_QUERIES = ["electric cars", "climate summit", "interest rates", "space exploration",
                "artificial intelligence", "renewable energy", "housing market", "world cup", "vaccines"]
TEAMS = {"basketball": ["Lakers", "Celtics", "Warriors", "Bulls", "Heat", "Knicks"],
         "football": ["Arsenal", "Real Madrid", "Barcelona", "Bayern Munich", "Juventus", "Liverpool"],
         "baseball": ["Yankees", "Red Sox", "Dodgers", "Cubs", "Mets"],
         "hockey": ["Maple Leafs", "Canadiens", "Rangers", "Bruins"]}
PLAYERS = ["LeBron James", "Stephen Curry", "Lionel Messi", "Erling Haaland", "Shohei Ohtani",
           "Kylian Mbappe", "Giannis Antetokounmpo", "Aaron Judge", "Connor McDavid", "Nikola Jokic"]

LANGUAGES = ["Spanish", "French", "German", "Italian", "Portuguese", "Japanese", "Chinese", "Korean",
             "Dutch", "Russian", "Arabic", "Hindi"]
PHRASES = ["Where is the train station?", "I would like a cup of coffee, please.",
           "How much does this cost?", "Thank you very much for your help.", "The meeting starts at noon.",
           "Can you recommend a good restaurant?", "I am allergic to peanuts.", "Happy birthday!",
           "See you tomorrow morning.", "The weather is lovely today."]
# phrase -> (language, English meaning)
FOREIGN_PHRASES = {"Bonjour, comment allez-vous ?": ("French", "Hello, how are you?"),
                   "Wo ist der Bahnhof?": ("German", "Where is the train station?"),
                   "Me gustaría una mesa para dos.": ("Spanish", "I would like a table for two."),
                   "Grazie mille per tutto.": ("Italian", "Thank you so much for everything."),
                   "Obrigado pela ajuda.": ("Portuguese", "Thanks for the help."),
                   "Dank je wel voor het wachten.": ("Dutch", "Thank you for waiting."),
                   "Buenas noches a todos.": ("Spanish", "Good night, everyone."),
                   "Ich habe Hunger.": ("German", "I am hungry."),
                   "Je ne sais pas.": ("French", "I don't know."),
                   "Ci vediamo domani.": ("Italian", "See you tomorrow.")}
WORDS = ["serendipity", "ephemeral", "ubiquitous", "resilient", "meticulous", "candid", "pragmatic",
         "eloquent", "benevolent", "ambiguous", "tenacious", "whimsical"]

ROOMS = ["living room", "bedroom", "kitchen", "office", "bathroom", "hallway", "garage", "dining room"]
LIGHT_COLORS = ["warm white", "cool white", "red", "blue", "green", "purple", "orange"]
DIRECTORIES = ["/home/user/Documents", "/home/user/Downloads", "/home/user/Pictures",
               "/home/user/projects/website", "/home/user/Desktop", "/data/reports"]
FILE_STEMS = ["report", "budget", "notes", "invoice", "presentation", "photo", "backup", "draft", "summary"]
FILE_QUERIES = ["tax return", "vacation photos", "meeting notes", "resume", "contract", "budget 2025"]

MEDICATIONS = ["ibuprofen", "paracetamol", "amoxicillin", "loratadine", "omeprazole", "metformin",
               "cetirizine", "aspirin"]
INSURERS = ["Aetna", "Blue Cross", "Cigna", "UnitedHealthcare", "Kaiser"]

_BASE_DATE = _dt.date(2025, 1, 1)


def pick(rng: random.Random, pool: list | tuple | dict) -> object:
    """One item of a list (or key of a dict)."""
    return rng.choice(list(pool) if isinstance(pool, dict) else pool)


def pick_two(rng: random.Random, pool: list | tuple | dict) -> tuple:
    """Two different items of a pool."""
    a, b = rng.sample(list(pool), 2)
    return a, b


def date(rng: random.Random, *, start_offset: int = 0, span: int = 500) -> str:
    """An ISO date between 2025-01-01 + ``start_offset`` days and ``span`` days later."""
    return (_BASE_DATE + _dt.timedelta(days=start_offset + rng.randrange(span))).isoformat()


def add_days(iso_date: str, days: int) -> str:
    """``add_days("2025-03-01", 3) == "2025-03-04"``."""
    return (_dt.date.fromisoformat(iso_date) + _dt.timedelta(days=days)).isoformat()


def clock(rng: random.Random, *, first_hour: int = 7, last_hour: int = 20) -> str:
    """A time of day on the quarter hour, ``HH:MM``."""
    return f"{rng.randint(first_hour, last_hour):02d}:{rng.choice((0, 15, 30, 45)):02d}"


def person(rng: random.Random) -> tuple[str, str]:
    """A random (first, last) name."""
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def email_of(first: str, last: str, domain: str = "example.com") -> str:
    """The address of a person: ``alice.smith@example.com``."""
    return f"{first.lower()}.{last.lower()}@{domain}"


def email(rng: random.Random) -> str:
    """A random address."""
    first, last = person(rng)
    return email_of(first, last, rng.choice(EMAIL_DOMAINS))


def phone(rng: random.Random) -> str:
    """A fake phone number in E.164 form (reserved 555 range)."""
    return f"+1555{rng.randrange(10**6, 10**7)}"


def code(rng: random.Random, prefix: str, digits: int = 6) -> str:
    """An identifier such as ``ORD-482913``."""
    return f"{prefix}-{rng.randrange(10 ** (digits - 1), 10**digits)}"
