/**
 * Postal-address recognisers, as grammars that read an address to its real end.
 * Chinese (simplified and traditional): the administrative chain 省/自治区 → 市/州 → 区/县 → 镇/街道/乡 → 村/社区,
 * then 路/街/大道/弄 (and 段), 号, a building or estate, and the units below it (号楼/栋/座/单元/层/楼/室, 期, 之3,
 * a bare room number); it starts at a province-level name, or at a city or district name at a clause boundary or
 * after an address word (地址：, 住在, 寄到 ...), and must name something below district level.
 * English (US, UK, Ireland, Australia, Hong Kong): comma-separated parts around a street line (house number, street
 * name, street type): flats, floors and buildings before it, and units, districts, the city, a US state with ZIP,
 * an Australian state with postcode, a UK postcode, an Eircode and a trailing country or territory after it.
 */
import { CN_ADDRESS_CUES, CN_PROVINCES, EN_STREET_SUFFIXES, US_STATE_NAMES, US_STATES } from './lexicons.js';
import type { Push } from './detect.js';
import type { Segment } from './segmenter.js';

// ---------------------------------------------------------------- Chinese

const H = '[\\u3400-\\u9fff]';
/** A character of an administrative name: not an address word ("台湾住址新竹市" is 台湾, then 新竹市). */
const ADMIN_CHAR = '(?:(?![址住的是在])[\\u3400-\\u9fff])';
/** A character of a building's or estate's name: not one of the unit words that come after the building. */
const NAME_CHAR = '(?:(?![座层層楼樓室栋棟幢号號])[\\u3400-\\u9fff])';
/** Words that end the name of an estate or a building; they chain ("花园酒店公寓", "运达国际广场"). */
const BUILDING_WORD =
  '小区|小區|大厦|大廈|花园|花園|广场|廣場|公寓|大楼|大樓|家园|家園|新村|园区|園區|产业园|工业园|科技园|软件园|中心|苑|府|国际|國際|写字楼|寫字樓|酒店|宿舍|大院|商城|城|邨|閣|阁|軒|轩|楼|樓';
const NUM = '[0-9０-９一二三四五六七八九十百千零〇两]';
const ALNUM = '[0-9０-９A-Za-z一二三四五六七八九十]';

/** One step of the grammar each; tried in order at the current position, the first that matches is taken. */
const CN_PARTS: { level: CnLevel; re: RegExp }[] = [
  {
    level: 'admin',
    re: sticky(
      // Not the start of a street name: 草市街 is a street, not a city.
      `${ADMIN_CHAR}{1,7}?(?:特别行政区|特別行政區|自治区|自治區|自治州|地区|地區|新区|新區|街道|市|州|盟|区|區|县|縣|旗|镇|鎮|乡|鄉)(?![街路道巷])`,
    ),
  },
  {
    level: 'road',
    re: sticky(
      `(?:${ADMIN_CHAR}|[0-9A-Za-z]){1,12}?(?:大道|大街|路|街|道|巷|胡同|里)(?:${NUM}{1,3}段|[东西南北中東]段|[东西南北中東](?=[0-9０-９]))?`,
    ),
  },
  {
    level: 'building',
    // Greedy, so that a name holding a building word reads to its last one (万科城市花园, not 万科城); never a
    // floor number (15樓 is a unit).
    re: sticky(
      `(?![0-9０-９]{1,4}(?:楼|樓|层|層|座|F))(?:${NAME_CHAR}|[A-Za-z0-9]){2,14}(?:${BUILDING_WORD})+(?:${ALNUM}{1,3}期|[一二三四五六七八九十]?期)?(?:写字楼|寫字樓)?`,
    ),
  },
  // A building named in English, known by the floor that follows it ("181號One Harbour Square 15樓").
  {
    level: 'building',
    // Each word is read whole ((?![A-Za-z])), so a run of capitals has one reading, not one per way to cut it.
    re: sticky(
      `(?:[A-Z][A-Za-z]*(?![A-Za-z])(?: (?=[A-Z]))?){1,5} ?(?=[0-9０-９]{1,3}(?:楼|樓|层|層|F|座|室))`,
    ),
  },
  // An estate whose name has no estate word, known by the block that follows it ("星河WORLD 2栋").
  {
    level: 'building',
    re: sticky(`(?:${NAME_CHAR}|[A-Za-z]){2,12}? ?(?=${ALNUM}{1,4}(?:号楼|號樓|栋|棟|幢|座|单元|單元|期))`),
  },
  {
    level: 'unit',
    re: sticky(
      `[-－第]?${ALNUM}{1,5}(?:号楼|號樓|号院|號院|栋|棟|幢|座|单元|單元|门|門|层|層|楼|樓|室|房|号|號|户|戶|铺|鋪|舖|F|期|区|區|组|組)(?:之${NUM}{1,3}|(?<=[楼樓层層])[A-Z](?![A-Za-z0-9座室房栋棟幢单單户戶号號]))?`,
    ),
  },
  { level: 'village', re: sticky(`${H}{1,6}?(?:社区|社區|居委会|村)`) },
  // A village's group or team, named or numbered (下屋组, 三组).
  { level: 'group', re: sticky(`${H}{1,4}?(?:组|組|队|隊|屯)`) },
  // A workshop, warehouse or shopfront after its number (珠江路6号厂房).
  { level: 'unit', re: sticky('(?:厂房|廠房|仓库|倉庫|车间|車間|门面|門面|商铺|商鋪)') },
  { level: 'number', re: sticky(`[甲乙丙丁]?${NUM}{1,6}(?:[-－之]${NUM}{1,4})?(?:号院|號院|号|號|弄|巷)`) },
  // A room number written bare after a building or unit ("中关村大厦1106", "3栋501").
  { level: 'room', re: sticky(`[0-9]{3,5}(?![0-9A-Za-z%％元万])`) },
];
type CnLevel = 'province' | 'admin' | 'village' | 'group' | 'road' | 'number' | 'building' | 'unit' | 'room';

function sticky(source: string): RegExp {
  return new RegExp(source, 'y');
}

/** Province-level names, with the traditional forms used in Hong Kong, Macao and Taiwan addresses. */
const PROVINCE_NAMES = [
  ...CN_PROVINCES,
  '臺灣',
  '台灣',
  '澳門',
  '九龍',
  '九龙',
  '新界',
  '港島',
  '港岛',
  '氹仔',
  '臺北市',
  '台北市',
  '新北市',
  '桃園市',
  '臺中市',
  '台中市',
  '臺南市',
  '台南市',
  '高雄市',
].sort((a, b) => b.length - a.length);
const PROVINCE = new RegExp(PROVINCE_NAMES.join('|'), 'g');
/** A city, county or district name at a clause boundary or after an address word. */
const CITY_START = new RegExp(`(?:(?![址住的是在到至於于])${H}){2,5}?(?:市|区|區|县|縣)`, 'y');
const CUE = new RegExp(
  `(?:${CN_ADDRESS_CUES.join('|')}|现住|現住|住|寄到|寄往|在|到|致|于|於)[：:\\s]*(?:是|为|為|写|寫|改成|改为|在)?[：:\\s]*$`,
);

/** An address label and what separates it from the address ("地址：", "住址是", "寄到"). */
const CUE_THEN = new RegExp(
  `(?:${CN_ADDRESS_CUES.join('|')}|住在|寄到|送到)[：:\\s]*(?:是|为|為|在)?[：:\\s]*`,
  'g',
);
/** A street right after an address word, with no administrative unit in it (those start addresses themselves). */
const CUE_ROAD = new RegExp(
  `(?![係系是为為在写寫改到至])(?:(?![市区區县縣省镇鎮])${H}|[0-9A-Za-z]){1,12}?(?:大道|大街|路|街|道|巷|胡同)(?:${NUM}{1,3}段)?`,
  'y',
);
const CN_FILLER =
  /^(?:我们|我家|他家|她家|我|他|她)?(?:现居|現居|现住|現住|住在|家住|住址|地址是|地址|址是|址|住|居|是|在|写|寫|改为|改成|寄到|寄往|到|至|于|於|为|為|致)+/;

/** Parses from `start`; returns the end and the levels seen. */
function parseChinese(text: string, start: number, firstLevel: CnLevel, firstEnd: number) {
  const levels = new Set<CnLevel>([firstLevel]);
  let pos = firstEnd;
  let last: CnLevel = firstLevel;
  let deep = false;
  let parts = 0;
  for (;;) {
    let matched = false;
    // One space may separate parts ("星河WORLD 2栋").
    const at = text[pos] === ' ' && /[0-9A-Za-z]/.test(text[pos + 1] ?? '') ? pos + 1 : pos;
    for (const { level, re } of CN_PARTS) {
      // A village's group comes right after the village.
      if (level === 'group' && last !== 'village') continue;
      // A bare room number only closes an address, after a building, unit or number.
      if (level === 'room' && !(last === 'building' || last === 'unit' || last === 'number')) continue;
      // Administrative units come before streets: "解放碑街道" is a sub-district, but after a road it is not.
      if (level === 'admin' && (levels.has('road') || levels.has('number'))) continue;
      // A building comes before its floors and rooms: after "45层" a name is no longer part of the address.
      if (level === 'building' && deep) continue;
      re.lastIndex = at;
      const m = re.exec(text);
      if (!m || m[0].length === 0) continue;
      levels.add(level);
      last = level;
      if (level === 'unit' && /(?:层|層|楼|樓|室|座|栋|棟|幢|单元|單元|户|戶|F)$/.test(m[0])) deep = true;
      pos = at + m[0].length;
      matched = true;
      break;
    }
    // An address is a few dozen characters: a run of street-like text is not read to its end.
    if (!matched || levels.has('room') || ++parts >= 12 || pos - start > 120) break;
  }
  return { end: pos, levels };
}

function scoreChinese(levels: Set<CnLevel>, province: boolean, cue: boolean): number | undefined {
  const numbered = levels.has('number') || levels.has('unit') || levels.has('room');
  const place = levels.has('road') || levels.has('village') || levels.has('building');
  const admin = province || levels.has('admin');
  // Something below district level, and more than a name: a street with a number, or a building or a unit.
  if (!admin) return undefined;
  // A rural address may end at the village's group, with no house number (东升村三屯, 王庄村三组).
  const rural = levels.has('village') && levels.has('group');
  if (
    !rural &&
    !(numbered && (place || levels.has('admin'))) &&
    !(place && levels.has('admin') && levels.has('building'))
  )
    return undefined;
  return Math.min(0.7 + (numbered ? 0.1 : 0) + (place ? 0.05 : 0) + (cue ? 0.1 : 0), 0.95);
}

/** jieba tags of words that do not begin a place name: conjunctions, adverbs, prepositions, pronouns, verbs ... */
const FUNCTION_TAG = /^(?:c|d|p|r|v|vd|u|uj|ul|uz|ud|ug|uv|y|e|o|m|q|t|zg|ad)$/;

/**
 * Finds Chinese addresses. With jieba's segmentation (of the simplified text, same offsets) a city or district
 * starts an address only at a word boundary ("还是长沙市" starts at 长沙市); without it, at a clause boundary or
 * after an address word.
 */
export function recognizeChineseAddresses(
  text: string,
  segments: readonly Segment[] | undefined,
  push: Push,
): void {
  let covered = 0;
  const starts: { start: number; end: number; province: boolean; road?: boolean }[] = [];
  const wordStart = segments ? new Map(segments.map((s) => [s.start, s.tag])) : undefined;
  for (const m of text.matchAll(PROVINCE))
    starts.push({ start: m.index, end: m.index + m[0].length, province: true });
  for (let i = 0; i < text.length; i++) {
    const prev = text[i - 1];
    const boundary = wordStart
      ? wordStart.get(i) !== undefined && !FUNCTION_TAG.test(wordStart.get(i) as string)
      : prev === undefined || !/[\u3400-\u9fff]/.test(prev) || CUE.test(text.slice(Math.max(0, i - 10), i));
    if (!boundary || !/[\u3400-\u9fff]/.test(text[i] as string)) continue;
    CITY_START.lastIndex = i;
    const m = CITY_START.exec(text);
    if (!m) continue;
    // The address words themselves are not part of it ("现住北京市…", "地址是上海市…").
    const filler = CN_FILLER.exec(m[0])?.[0].length ?? 0;
    if (filler) {
      CITY_START.lastIndex = i + filler;
      const again = CITY_START.exec(text);
      if (again) starts.push({ start: i + filler, end: i + filler + again[0].length, province: false });
    } else starts.push({ start: i, end: i + m[0].length, province: false });
  }
  // After an address word a street may start the address ("地址：中山路12号3楼").
  for (const m of text.matchAll(CUE_THEN)) {
    const at = m.index + m[0].length;
    CUE_ROAD.lastIndex = at;
    const r = CUE_ROAD.exec(text);
    if (r) starts.push({ start: at, end: at + r[0].length, province: false, road: true });
  }
  starts.sort((a, b) => a.start - b.start);
  for (const s of starts) {
    if (s.start < covered) continue;
    const { end, levels } = parseChinese(
      text,
      s.start,
      s.province ? 'province' : s.road ? 'road' : 'admin',
      s.end,
    );
    const cue = CUE.test(text.slice(Math.max(0, s.start - 10), s.start));
    const score = s.road
      ? levels.has('number') || levels.has('unit')
        ? 0.75
        : undefined
      : scoreChinese(levels, s.province, cue);
    if (score === undefined) continue;
    push('ADDRESS', s.start, end, score);
    covered = end;
  }
}

// ---------------------------------------------------------------- English

const W = "[A-Z][a-z'’]+";
const SUFFIX = `(?:${EN_STREET_SUFFIXES})`;
const DIRECTION = '(?:Upper|Lower|North|South|East|West|Central|Middle|N|S|E|W)';
/** House number, up to four name words, a street type, an optional direction: "111 Connaught Road Central". */
const STREET_LINE = new RegExp(
  `(?:(?:Blk|Block)\\s+(?=\\d{1,5}\\s+[A-Z]))?(?:(?:Unit|Flat|Apt|Shop)\\s+(?=\\d{1,4}\\/\\d))?(?:No\\.\\s*)?(?:\\d{1,4}\\/)?\\d{1,5}[A-Za-z]?(?:[-–]\\d{1,5})?,?\\s+(?:(?:${DIRECTION}\\.?\\s+)?(?:(?:${W}|[A-Z]|\\d{1,3}(?:st|nd|rd|th))\\s+){1,4}${SUFFIX}\\b\\.?(?:\\s+${DIRECTION}\\b|\\s+\\d{1,2}(?=,))?|[A-Z][a-z]+way\\b|Lane\\s+\\d{1,5}\\b)`,
  'y',
);
const UNIT = new RegExp(
  `(?:(?:Flat|Apartment|Apt|Unit|Suite|Ste|Room|Rm|Floor|Fl|Level|Lvl|Block|Blk|Tower|Wing|Building|Bldg|House)\\.?\\s*#?[A-Za-z]?\\d{1,5}(?:[./]\\d{1,3})?[A-Za-z]?|(?:Flat|Unit|Block|Tower|Wing)\\s+[A-Z]\\b|(?:\\d{1,3}|G|UG|LG|M)/F|(?:\\d{1,3}(?:st|nd|rd|th)|Ground|Lower Ground|Upper Ground|First|Second|Third|Fourth|Fifth|Top)\\s+[Ff]loor|#\\d{1,3}-\\d{1,5}|#\\d{1,5}[A-Za-z]?)`,
  'y',
);
/** A street without a house number ("Wulumuqi Middle Road"), or a district ("Xuhui District"). */
const STREET_NAME = new RegExp(
  `(?:(?:${W}|[A-Z])\\s+){1,3}(?:${SUFFIX}|District|County)\\b(?:\\s+${DIRECTION}\\b)?`,
  'y',
);
/** A building, estate or locality name: up to four title-case words ("The Harbourside", "Quarry Bay"). */
const NAME = new RegExp(
  `(?:The[ \\t]+|Two[ \\t]+|One[ \\t]+)?${W}(?:[ \\t-](?:${W}|[A-Z]\\b)|[ \\t-]upon[ \\t-]${W}|-(?:on|le|in)-${W}){0,3}(?:[ \\t]+\\d{1,2}(?!\\d))?`,
  'y',
);
const US_ZIP = `(?:${US_STATES}|${US_STATE_NAMES})\\s+\\d{5}(?:-\\d{4})?`;
const AU_POSTCODE = '(?:VIC|NSW|QLD|WA|SA|TAS|ACT|NT)\\s+\\d{4}';
const UK_POSTCODE = '[A-Z]{1,2}\\d[A-Z\\d]?\\s+\\d[A-Z]{2}';
const EIRCODE = '[A-Z]\\d{2}\\s?[A-Z0-9]{4}';
const POSTAL = new RegExp(
  `(?:${US_ZIP}|(?<=Singapore\\s)\\d{6}|${AU_POSTCODE}|${UK_POSTCODE}|${EIRCODE}|(?:${US_STATES}))(?![A-Za-z0-9])`,
  'y',
);
const ESTATE =
  /\b(?:Estate|Court|Gardens?|Mansions?|Building|Centre|Center|Tower|House|Villas?|Terrace|Plaza|Heights|Garden|Lodge|Park|City)\b/;
/**
 * A house or building name before the street line (Rose Cottage, 3 Mill Lane; Harbour View Apartments, 18 Quay
 * Street).
 */
const HOUSE_NAME =
  /(?:^|[\n,，:：]\s*)((?:[A-Z][a-z]+ ){0,2}(?:Cottage|Farm|House|Lodge|Barn|Manor|Villa|Grange|Hall|Apartments|Mansions|Residences|Heights|Tower|Towers|Building|Buildings),\s*)$/;
const COUNTRY =
  /^(?:Hong Kong|Kowloon|New Territories|Macau|Macao|Singapore|USA|United States|UK|United Kingdom|Ireland|Australia|China|PRC|Canada)$/;
const EN_ADDRESS_CUE =
  /(?:address|lives? at|living at|resides? at|residing at|located at|mail(?:ed)? to|send (?:it )?to|ship(?:ped)? to|deliver(?:ed)? to|moved to)[:\s]*$/i;

/** Street types and words that are abbreviated with a full stop ("Water St.", "Ocean Blvd."). */
const ABBREVIATED =
  /\b(?:St|Rd|Ave|Av|Dr|Ln|Blvd|Ct|Pl|Sq|Tce|Terr|Cres|Hwy|Pkwy|Cl|Gr|Gdns|Mt|Pde|Esp|Cir|Sta|Ste|Apt|Fl|No|Bldg|Rm)\.$/;

type EnPart = 'unit' | 'street' | 'streetName' | 'name' | 'namePostal' | 'postal';

function matchAt(re: RegExp, text: string, at: number): string | undefined {
  re.lastIndex = at;
  const m = re.exec(text);
  return m?.[0] || undefined;
}

/** The end of a part: the next character must not continue a word. */
function wordEnd(text: string, end: number): boolean {
  return !/[A-Za-z0-9'’]/.test(text[end] ?? '');
}

/** Reads one part at `at`: a unit, a street line, a street name, a postal code or a name. */
function enPart(text: string, at: number, streetSeen: boolean): { kind: EnPart; end: number } | undefined {
  const tries: [EnPart, RegExp][] = [
    ['street', STREET_LINE],
    ['unit', UNIT],
    ['streetName', STREET_NAME],
    ['postal', POSTAL],
  ];
  for (const [kind, re] of tries) {
    const m = matchAt(re, text, at);
    if (m && wordEnd(text, at + m.length)) return { kind, end: at + m.length };
  }
  const name = matchAt(NAME, text, at);
  if (name) {
    let end = at + name.length;
    // A locality may carry its postal code after a space: "London W11 3BU", "Melbourne VIC 3000".
    let postal = false;
    if (streetSeen && text[end] === ' ') {
      const code = matchAt(POSTAL, text, end + 1);
      if (code) {
        end = end + 1 + code.length;
        postal = true;
      }
    }
    if (wordEnd(text, end)) return { kind: postal ? 'namePostal' : 'name', end };
  }
  return undefined;
}

/** Where an address line may stop: a clause end, a line end, or the end of the text. */
function closes(text: string, end: number): boolean {
  return /^(?:$|[,.;:)\]，。；、！？!?\n]|\s+(?:within|and|or|for|if|on|by|from|in|to|please|\(|-|—))/.test(
    text.slice(end, end + 9),
  );
}

function parseEnglish(
  text: string,
  start: number,
): { end: number; street: boolean; parts: EnPart[] } | undefined {
  const parts: EnPart[] = [];
  let pos = start;
  let end = start;
  let street = false;
  let postal = false;
  for (let n = 0; n < 9; n++) {
    const part = enPart(text, pos, street);
    if (!part) break;
    if (part.kind === 'name') {
      const words = text.slice(pos, part.end);
      // After the street a name is a district, city or territory; it must close or lead to another part.
      const next = /^,\s*/.exec(text.slice(part.end))?.[0];
      const continues = next !== undefined && enPart(text, part.end + next.length, street) !== undefined;
      if (postal && !COUNTRY.test(words)) break;
      if (!closes(text, part.end) && !continues && !COUNTRY.test(words)) break;
      if (!street && !continues && parts[0] !== 'unit') break;
    } else if (part.kind === 'namePostal') {
      // "London NW1 6XE": a locality with its postal code closes the address.
      if (postal || !street) break;
      postal = true;
    } else if (part.kind === 'postal') {
      // A postal code closes an address that has a street, or a flat in a named building ("Apartment 14, The
      // Sweepstakes, Ballsbridge, Dublin 4, D04 C7Y6").
      if (!street && !(parts[0] === 'unit' && parts.includes('name'))) break;
      postal = true;
    } else if (part.kind === 'street' || part.kind === 'streetName') {
      if (postal) break;
      street = street || part.kind === 'street' || parts.length > 0;
    }
    parts.push(part.kind);
    end = part.end;
    // A unit may follow a building's name without a comma: "Times Square Tower 2", "Harbour Centre Block B".
    const sep =
      /^(?:,\s*|\s+(?=\d{1,3}\/F|(?:Flat|Apt|Unit|Suite|Room|Floor|Level|Tower|Block|Wing)\b))/.exec(
        text.slice(end),
      )?.[0];
    if (!sep || /\n/.test(sep)) break;
    pos = end + sep.length;
  }
  // A flat in a named estate or building that closes with its territory, with no street: Hong Kong public
  // estates ("Block B, 5/F, Flat 3, Wah Fu Estate, Pok Fu Lam, Hong Kong").
  const estate =
    parts[0] === 'unit' &&
    ESTATE.test(text.slice(start, end)) &&
    COUNTRY.test(/[A-Z][A-Za-z ]*$/.exec(text.slice(start, end))?.[0] ?? '');
  if (!street && !parts.includes('postal') && !estate) return undefined;
  return { end, street, parts };
}

export function recognizeEnglishAddresses(text: string, push: Push): void {
  let covered = 0;
  // Candidate starts: a unit word, a floor ("12/F", "4th Floor", "Ground Floor"), or a house number, at a word
  // boundary.
  const start =
    /(?<![A-Za-z0-9'’/-])(?:(?:Flat|Apartment|Apt|Unit|Suite|Room|Rm|Level|Lvl|Floor|Fl|Block|Blk)\b|(?:Ground|Lower Ground|Upper Ground|First|Second|Third|Fourth|Fifth|Top) [Ff]loor\b|\d{1,3}(?:st|nd|rd|th) [Ff]loor\b|(?:\d{1,3}|G|UG|LG)\/F|No\.\s*\d|\d{1,5}[A-Za-z]?\b)/g;
  for (const m of text.matchAll(start)) {
    if (m.index < covered) continue;
    const parsed = parseEnglish(text, m.index);
    if (!parsed) continue;
    const { end, parts } = parsed;
    const named =
      parts[0] === 'street' ? HOUSE_NAME.exec(text.slice(Math.max(covered, m.index - 40), m.index)) : null;
    const from = m.index - (named?.[1]?.length ?? 0);
    const house = /^\d+/.exec(text.slice(m.index))?.[0];
    const locality = parts.includes('postal') || parts.includes('namePostal') || parts.includes('name');
    let score = 0.6 + (parts.includes('unit') ? 0.1 : 0) + (locality ? 0.25 : 0);
    if (EN_ADDRESS_CUE.test(text.slice(Math.max(0, m.index - 24), m.index))) score += 0.1;
    // "2020 Supreme Court" is a year before a name, not a house number, unless a locality follows.
    if (house && /^(?:19|20)\d\d$/.test(house) && !locality) score -= 0.2;
    // A full stop after a street written out ends the sentence, not an abbreviation ("14 Kelvin Drive.").
    const stop = text[end - 1] === '.' && !ABBREVIATED.test(text.slice(Math.max(from, end - 6), end)) ? 1 : 0;
    push('ADDRESS', from, end - stop, Math.min(score, 0.95));
    covered = end;
  }
}
