// The widget's words in the club's four languages, in the terms of the project's glossary of loyalty words,
// and numbers, money and dates formatted by Intl for the language's locale.

export const LANGUAGES = ["en", "nb", "da", "sv"];
const LOCALES = { en: "en-GB", nb: "nb-NO", da: "da-DK", sv: "sv-SE" };
const ALIASES = { no: "nb", nn: "nb", nob: "nb", dan: "da", swe: "sv", eng: "en" };

// {n} is a number, {points} a number of points, {amount} money, {tier}, {reward}, {club}, {name}, {date} text.
// A value that is an object has plural forms by Intl.PluralRules ("one", "other").
const WORDS = {
  en: {
    points: { one: "{n} point", other: "{n} points" },
    unit: { one: "point", other: "points" },
    earn: { one: "Earn {n} point", other: "Earn {n} points" },
    pointsTo: { one: "{n} point to {tier}", other: "{n} points to {tier}" },
    hi: "Hi, {name}!",
    hello: "Hi!",
    balance: "Points balance",
    yourTier: "Your level",
    progress: "Progress to next level",
    topTier: "You are at the top level.",
    pending: "Pending points",
    pendingLine: { one: "{n} point available on {date}", other: "{n} points available on {date}" },
    reserved: { one: "{n} reserved point", other: "{n} reserved points" },
    rewardsNow: "Rewards you can get now",
    rewardsNext: "Your next reward",
    rewardMissing: { one: "{n} point to {reward}", other: "{n} points to {reward}" },
    moreRewards: "See every reward on My page",
    useAtCheckout: "Use points at checkout",
    pointsToUse: "Points to use",
    worth: "{points} pay {amount}",
    getCode: "Get a code",
    working: "One moment…",
    yourCode: "Your code",
    codeHelp: "Type the code at checkout: {points} take {amount} off your order.",
    reservedUntil: "The points are kept for you until {date}.",
    notEnough: "Collect {points} to use them at checkout: {points} pay {amount}.",
    copy: "Copy",
    copied: "Copied",
    copyCode: "Copy the code",
    copyLink: "Copy the link",
    refer: "Refer a friend",
    referText: "Share your referral link: you both get points when your friend shops.",
    referralLink: "Your referral link",
    share: "Share",
    myPage: "My page",
    close: "Close",
    joinClub: "Join {club}",
    tagline: "Earn points every time you shop.",
    signUp: "Sign up",
    logIn: "Log in",
    already: "Already a member?",
    howToEarn: "How to earn",
    earnRate: "{amount} earns {points}",
    birthday: "{points} on your birthday",
    spend: "Use points at checkout: {points} pay {amount}",
    levels: "Levels",
    from: "From {points}",
    error: "Something went wrong. Try again.",
    open: "Open {club}",
  },
  nb: {
    points: "{n} poeng",
    unit: "poeng",
    earn: "Tjen {n} poeng",
    pointsTo: "{n} poeng til {tier}",
    hi: "Hei, {name}!",
    hello: "Hei!",
    balance: "Poengsaldo",
    yourTier: "Ditt nivå",
    progress: "Fremgang til neste nivå",
    topTier: "Du er på høyeste nivå.",
    pending: "Poeng på vei",
    pendingLine: "{n} poeng tilgjengelig {date}",
    reserved: "{n} reserverte poeng",
    rewardsNow: "Belønninger du kan få nå",
    rewardsNext: "Din neste belønning",
    rewardMissing: "{n} poeng til {reward}",
    moreRewards: "Se alle belønninger på Min side",
    useAtCheckout: "Bruk poeng i kassen",
    pointsToUse: "Poeng du vil bruke",
    worth: "{points} gir {amount}",
    getCode: "Få en kode",
    working: "Et øyeblikk …",
    yourCode: "Koden din",
    codeHelp: "Skriv inn koden i kassen: {points} gir {amount} i rabatt på ordren.",
    reservedUntil: "Poengene holdes av til deg til {date}.",
    notEnough: "Samle {points} for å bruke dem i kassen: {points} gir {amount}.",
    copy: "Kopier",
    copied: "Kopiert",
    copyCode: "Kopier koden",
    copyLink: "Kopier lenken",
    refer: "Verv en venn",
    referText: "Del vervelenken din: dere får begge poeng når vennen din handler.",
    referralLink: "Vervelenken din",
    share: "Del",
    myPage: "Min side",
    close: "Lukk",
    joinClub: "Bli med i {club}",
    tagline: "Tjen poeng hver gang du handler.",
    signUp: "Bli medlem",
    logIn: "Logg inn",
    already: "Allerede medlem?",
    howToEarn: "Slik tjener du poeng",
    earnRate: "{amount} gir {points}",
    birthday: "{points} på bursdagen din",
    spend: "Bruk poeng i kassen: {points} gir {amount}",
    levels: "Nivåer",
    from: "Fra {points}",
    error: "Noe gikk galt. Prøv igjen.",
    open: "Åpne {club}",
  },
  da: {
    points: "{n} point",
    unit: "point",
    earn: "Optjen {n} point",
    pointsTo: "{n} point til {tier}",
    hi: "Hej, {name}!",
    hello: "Hej!",
    balance: "Pointsaldo",
    yourTier: "Dit niveau",
    progress: "Fremskridt til næste niveau",
    topTier: "Du er på det højeste niveau.",
    pending: "Ventende point",
    pendingLine: "{n} point tilgængelig {date}",
    reserved: "{n} reserverede point",
    rewardsNow: "Belønninger du kan få nu",
    rewardsNext: "Din næste belønning",
    rewardMissing: "{n} point til {reward}",
    moreRewards: "Se alle belønninger på Min side",
    useAtCheckout: "Brug point i kassen",
    pointsToUse: "Point du vil bruge",
    worth: "{points} giver {amount}",
    getCode: "Få en kode",
    working: "Et øjeblik …",
    yourCode: "Din kode",
    codeHelp: "Indtast koden i kassen: {points} giver {amount} i rabat på ordren.",
    reservedUntil: "Pointene holdes til dig indtil {date}.",
    notEnough: "Saml {points} for at bruge dem i kassen: {points} giver {amount}.",
    copy: "Kopiér",
    copied: "Kopieret",
    copyCode: "Kopiér koden",
    copyLink: "Kopiér linket",
    refer: "Anbefal en ven",
    referText: "Del dit henvisningslink: I får begge point, når din ven handler.",
    referralLink: "Dit henvisningslink",
    share: "Del",
    myPage: "Min side",
    close: "Luk",
    joinClub: "Bliv medlem af {club}",
    tagline: "Optjen point, hver gang du handler.",
    signUp: "Bliv medlem",
    logIn: "Log ind",
    already: "Allerede medlem?",
    howToEarn: "Sådan optjener du point",
    earnRate: "{amount} giver {points}",
    birthday: "{points} på din fødselsdag",
    spend: "Brug point i kassen: {points} giver {amount}",
    levels: "Niveauer",
    from: "Fra {points}",
    error: "Noget gik galt. Prøv igen.",
    open: "Åbn {club}",
  },
  sv: {
    points: "{n} poäng",
    unit: "poäng",
    earn: "Tjäna {n} poäng",
    pointsTo: "{n} poäng till {tier}",
    hi: "Hej, {name}!",
    hello: "Hej!",
    balance: "Poängsaldo",
    yourTier: "Din nivå",
    progress: "Framsteg till nästa nivå",
    topTier: "Du är på den högsta nivån.",
    pending: "Väntande poäng",
    pendingLine: "{n} poäng tillgängliga {date}",
    reserved: "{n} reserverade poäng",
    rewardsNow: "Belöningar du kan få nu",
    rewardsNext: "Din nästa belöning",
    rewardMissing: "{n} poäng till {reward}",
    moreRewards: "Se alla belöningar på Mina sidor",
    useAtCheckout: "Använd poäng i kassan",
    pointsToUse: "Poäng du vill använda",
    worth: "{points} ger {amount}",
    getCode: "Få en kod",
    working: "Ett ögonblick …",
    yourCode: "Din kod",
    codeHelp: "Skriv in koden i kassan: {points} ger {amount} i rabatt på ordern.",
    reservedUntil: "Poängen hålls åt dig till {date}.",
    notEnough: "Samla {points} för att använda dem i kassan: {points} ger {amount}.",
    copy: "Kopiera",
    copied: "Kopierad",
    copyCode: "Kopiera koden",
    copyLink: "Kopiera länken",
    refer: "Värva en vän",
    referText: "Dela din värvningslänk: ni får båda poäng när din vän handlar.",
    referralLink: "Din värvningslänk",
    share: "Dela",
    myPage: "Mina sidor",
    close: "Stäng",
    joinClub: "Gå med i {club}",
    tagline: "Tjäna poäng varje gång du handlar.",
    signUp: "Bli medlem",
    logIn: "Logga in",
    already: "Redan medlem?",
    howToEarn: "Så tjänar du poäng",
    earnRate: "{amount} ger {points}",
    birthday: "{points} på din födelsedag",
    spend: "Använd poäng i kassan: {points} ger {amount}",
    levels: "Nivåer",
    from: "Från {points}",
    error: "Något gick fel. Försök igen.",
    open: "Öppna {club}",
  },
};

/** One of LANGUAGES for a language tag such as "nb-NO", "no" or "sv", else null. */
export function languageOf(tag) {
  const base = String(tag || "")
    .trim()
    .toLowerCase()
    .split(/[-_]/)[0];
  const language = ALIASES[base] || base;
  return LANGUAGES.includes(language) ? language : null;
}

/** Words and formats for one language; ``tag`` (the page's own, e.g. "nb-NO") picks the locale's region. */
export function messages(language, tag) {
  const words = WORDS[language] || WORDS.en;
  let locale = LOCALES[language] || "en-GB";
  if (tag && languageOf(tag) === language && /^[a-z]{2,3}-[a-z]{2}$/i.test(tag)) locale = tag;
  const plural = new Intl.PluralRules(locale);
  const number = new Intl.NumberFormat(locale);

  function t(key, values = {}) {
    let text = words[key] ?? WORDS.en[key];
    if (typeof text === "object") text = text[plural.select(values.n ?? 0)] || text.other;
    return text.replace(/\{(\w+)\}/g, (whole, name) => {
      const value = values[name];
      if (value === undefined) return whole;
      return typeof value === "number" ? number.format(value) : String(value);
    });
  }

  return {
    language,
    locale,
    t,
    number: (n) => number.format(n),
    /** "1 250 poeng": a number of points as words. */
    points: (n) => t("points", { n }),
    /** "100 kr", "125,50 kr": money in the shop's currency, with cents only when there are any. */
    money(amount, currency) {
      const value = Number(amount);
      const cents = Math.round(value * 100) % 100 !== 0;
      try {
        return new Intl.NumberFormat(locale, {
          style: "currency",
          currency,
          minimumFractionDigits: cents ? 2 : 0,
          maximumFractionDigits: cents ? 2 : 0,
        }).format(value);
      } catch {
        return `${number.format(value)} ${currency}`;
      }
    },
    /** "16. des." / "16 Dec": a day, for points that come then. */
    day: (iso) => new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" }).format(new Date(iso)),
    /** "16. des., 14:30": a day and time, for how long points are kept. */
    moment: (iso) =>
      new Intl.DateTimeFormat(locale, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }).format(
        new Date(iso),
      ),
  };
}
