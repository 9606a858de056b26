//! Assets: each person's bundle by staff group, bring-your-own devices, the stock pool and the
//! lifecycle statuses, with device posture that has a realistic share of problems.

use chrono::{DateTime, NaiveDate, Utc};
use steward_model::{Asset, AssetKind, AssetStatus, Ownership, Pence, Person, PersonStatus};

use crate::catalogue::{
    ACCESSORIES, IPHONES, LAPTOPS, Model, PERIPHERALS, PERSONAL_LAPTOPS, PERSONAL_PHONES, SIMS,
    TABLETS, USB_STICKS, VOICE_PHONES,
};
use crate::people::{Centres, Draft, Group};
use crate::rng::Rng;
use crate::serial::serial;
use crate::time::{Clock, DAY, HOUR, before, date_between, shift};

/// How long a device stays in service: allocations are at most this old.
const REFRESH_DAYS: i64 = 4 * 365;

/// Who holds an asset and when they could have been given it.
#[derive(Debug, Clone)]
struct Holder {
    id: String,
    centre: Option<usize>,
    /// The window an assignment date falls in: from joining (or the last refresh) to today, or to
    /// the leaving date for someone who has gone.
    from: NaiveDate,
    until: NaiveDate,
    gone: bool,
}

/// What happened to a person's kit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holding {
    Nothing,
    Holds,
    /// Handed back: the kit is in the register as returned, no longer theirs.
    HandedBack,
}

struct Kit<'a> {
    rng: &'a mut Rng,
    clock: Clock,
    centres: &'a Centres,
    serial_key: u64,
    counter: u64,
    assets: Vec<Asset>,
}

impl Kit<'_> {
    fn unit(
        &mut self,
        kind: AssetKind,
        model: &Model,
        ownership: Ownership,
        status: AssetStatus,
    ) -> Asset {
        let counter = self.counter;
        self.counter += 1;
        let flavour = self.rng.next_u64();
        let personal = ownership == Ownership::Personal;
        let serial = match model.shape {
            Some(shape) if !personal || self.rng.chance(0.6) => {
                Some(serial(shape, counter, self.serial_key, flavour))
            }
            _ => None,
        };
        let cost = (!personal).then(|| {
            if model.price > 0 && self.rng.chance(0.3) {
                // A discounted order, to the whole pound.
                let off = model.price * self.rng.between(5, 15) / 100;
                Pence((model.price - off) / 100 * 100)
            } else {
                Pence(model.price)
            }
        });
        Asset {
            tag: String::new(),
            kind,
            model: Some(model.name.to_owned()),
            serial,
            ownership,
            status,
            assigned_to: None,
            assigned_on: None,
            budget_centre: None,
            cost_gbp: cost,
            encrypted: None,
            pin_set: None,
            hotspot_password_set: None,
            last_seen: None,
            last_shutdown: None,
            pending_patch_since: None,
            imei: None,
            os_version: None,
            compliance_state: None,
            azure_device_id: None,
            source_id: None,
            source: None,
            source_seen: None,
            missing_since: None,
        }
    }

    fn give(&mut self, mut asset: Asset, holder: &Holder, on: NaiveDate) -> Asset {
        asset.assigned_to = Some(holder.id.clone());
        asset.assigned_on = Some(on);
        if asset.ownership == Ownership::Organisation {
            asset.budget_centre = self.charge(holder.centre);
        }
        asset
    }

    /// The budget centre an organisation asset is charged to: usually its holder's.
    fn charge(&mut self, holder: Option<usize>) -> Option<String> {
        match holder {
            Some(c) if self.rng.chance(0.92) => self.centres.code(Some(c)),
            None if self.rng.chance(0.4) => None,
            _ => self.centres.code(self.centres.corporate_it),
        }
    }

    fn tri(&mut self, yes: u32, no: u32, unknown: u32) -> Option<bool> {
        *self
            .rng
            .weighted(&[(Some(true), yes), (Some(false), no), (None, unknown)])
    }

    /// Last connection: mostly within three days, `stale` of the time over a fortnight ago; never
    /// before the device was handed over.
    fn seen(&mut self, stale: f64, since: Option<NaiveDate>) -> DateTime<Utc> {
        let roll = self.rng.unit();
        let t = if roll < stale {
            self.clock.ago_between(self.rng, 15 * DAY, 120 * DAY)
        } else if roll < stale + 0.03 {
            self.clock.ago_between(self.rng, 3 * DAY + 1, 14 * DAY)
        } else {
            self.clock.ago_between(self.rng, 0, 3 * DAY)
        };
        match since {
            Some(d) => t.max(self.clock.on(d, 9 * HOUR + self.rng.between(0, 8 * HOUR))),
            None => t,
        }
    }

    fn patch(&mut self, share: f64, max_days: i64) -> Option<NaiveDate> {
        self.rng
            .chance(share)
            .then(|| shift(self.clock.today, -self.rng.between(3, max_days)))
    }

    fn laptop_posture(&mut self, a: &mut Asset, stale: f64) {
        a.encrypted = self.tri(92, 5, 3);
        a.pin_set = self.tri(88, 8, 4);
        let seen = self.seen(stale, a.assigned_on);
        a.last_seen = Some(seen);
        // A full shutdown this week for most; never after the device was last seen.
        let (lo, hi) = if self.rng.chance(0.9) {
            (0, 6 * DAY)
        } else {
            (8 * DAY, 60 * DAY)
        };
        let shutdown = self.clock.ago_between(self.rng, lo, hi);
        a.last_shutdown = Some(if shutdown <= seen {
            shutdown
        } else {
            before(seen, self.rng.between(0, 2 * HOUR))
        });
        a.pending_patch_since = self.patch(0.15, 40);
    }

    fn phone_posture(&mut self, a: &mut Asset, stale: f64) {
        a.encrypted = self.tri(98, 0, 2);
        a.pin_set = self.tri(92, 6, 2);
        a.hotspot_password_set = self.tri(90, 7, 3);
        a.last_seen = Some(self.seen(stale, a.assigned_on));
        a.pending_patch_since = self.patch(0.10, 40);
    }

    fn tablet_posture(&mut self, a: &mut Asset) {
        a.encrypted = Some(true);
        a.pin_set = self.tri(95, 5, 0);
        a.last_seen = Some(self.seen(0.0, a.assigned_on));
        a.pending_patch_since = self.patch(0.10, 40);
    }

    fn usb_posture(&mut self, a: &mut Asset, hardware_encrypted: bool) {
        a.encrypted = Some(hardware_encrypted || self.rng.chance(0.25));
    }

    /// An organisation laptop, iPhone and so on in someone's hands.
    fn issue(&mut self, kind: AssetKind, holder: &Holder) -> Asset {
        let stale = if holder.gone { 0.5 } else { 0.05 };
        let on = date_between(self.rng, holder.from, holder.until);
        let status = AssetStatus::Allocated;
        let org = Ownership::Organisation;
        match kind {
            AssetKind::Laptop => {
                let model = *self.rng.weighted(LAPTOPS);
                let mut a = self.unit(kind, &model, org, status);
                a = self.give(a, holder, on);
                self.laptop_posture(&mut a, stale);
                a
            }
            AssetKind::Smartphone => {
                let model = *self.rng.weighted(IPHONES);
                let mut a = self.unit(kind, &model, org, status);
                a = self.give(a, holder, on);
                self.phone_posture(&mut a, stale.min(0.03));
                a
            }
            AssetKind::VoicePhone => {
                let model = *self.rng.weighted(VOICE_PHONES);
                let a = self.unit(kind, &model, org, status);
                self.give(a, holder, on)
            }
            AssetKind::UsbStick => {
                let (model, hardware) = *self.rng.weighted(USB_STICKS);
                let mut a = self.unit(kind, &model, org, status);
                a = self.give(a, holder, on);
                self.usb_posture(&mut a, hardware);
                a
            }
            AssetKind::Accessory => {
                let model = *self.rng.weighted(ACCESSORIES);
                let a = self.unit(kind, &model, org, status);
                self.give(a, holder, on)
            }
            _ => {
                let model = *self.rng.weighted(PERIPHERALS);
                let a = self.unit(AssetKind::Peripheral, &model, org, status);
                self.give(a, holder, on)
            }
        }
    }

    /// The SIM that goes in a phone: same holder, same day.
    fn sim_for(&mut self, phone: &Asset, holder: &Holder) -> Asset {
        let model = *self.rng.weighted(SIMS);
        let sim = self.unit(
            AssetKind::Sim,
            &model,
            Ownership::Organisation,
            AssetStatus::Allocated,
        );
        let mut sim = self.give(sim, holder, phone.assigned_on.unwrap_or(holder.until));
        sim.budget_centre.clone_from(&phone.budget_centre);
        sim
    }

    fn phone_with_sim(&mut self, kind: AssetKind, holder: &Holder, sim_share: f64) {
        let phone = self.issue(kind, holder);
        let sim = self
            .rng
            .chance(sim_share)
            .then(|| self.sim_for(&phone, holder));
        self.assets.push(phone);
        self.assets.extend(sim);
    }

    /// The standard bundle for an employee, and the extra device a reasonable adjustment (or
    /// nobody's say-so) gave them.
    fn bundle(&mut self, d: &Draft, holder: &Holder, extra: Option<AssetKind>) {
        let (laptop, phone) = match d.group {
            Group::Fca | Group::Nqsw => (0.97, 0.95),
            Group::BusinessServices => (0.97, 0.80),
            Group::StudentSocialWorker => (0.90, 0.70),
            Group::OtherStaff if d.sessional => (0.60, 0.40),
            Group::OtherStaff => (0.85, 0.60),
            // A contractor working on site.
            _ => (1.0, 0.0),
        };
        if self.rng.chance(laptop) {
            let a = self.issue(AssetKind::Laptop, holder);
            self.assets.push(a);
        }
        if self.rng.chance(phone) {
            self.phone_with_sim(AssetKind::Smartphone, holder, 0.97);
        }
        if let Some(kind) = extra {
            let a = self.issue(kind, holder);
            self.assets.push(a);
        }
        if !d.group.equipped() {
            return;
        }
        if self.rng.chance(0.06) {
            self.phone_with_sim(AssetKind::VoicePhone, holder, 0.9);
        }
        if self.rng.chance(0.04) {
            let a = self.issue(AssetKind::UsbStick, holder);
            self.assets.push(a);
        }
        let peripherals = *self.rng.weighted(&[(0, 35), (1, 35), (2, 20), (3, 10)]);
        for _ in 0..peripherals {
            let a = self.issue(AssetKind::Peripheral, holder);
            self.assets.push(a);
        }
        let accessories = *self.rng.weighted(&[(0, 45), (1, 40), (2, 15)]);
        for _ in 0..accessories {
            let a = self.issue(AssetKind::Accessory, holder);
            self.assets.push(a);
        }
        if !holder.gone && self.rng.chance(0.006) {
            // A tablet booked out for a visit.
            let model = *self.rng.weighted(TABLETS);
            let a = self.unit(
                AssetKind::Tablet,
                &model,
                Ownership::Organisation,
                AssetStatus::OnLoan,
            );
            let on = shift(self.clock.today, -self.rng.between(0, 14)).max(holder.from);
            let mut a = self.give(a, holder, on.min(holder.until));
            self.tablet_posture(&mut a);
            self.assets.push(a);
        }
    }

    /// An associate's own laptop and phone, enrolled for bring-your-own-device.
    fn personal(&mut self, holder: &Holder) {
        let mut laptop = self.rng.chance(0.8);
        let phone = self.rng.chance(0.7);
        if !laptop && !phone {
            laptop = true;
        }
        let status = AssetStatus::Allocated;
        if laptop {
            let model = *self.rng.weighted(PERSONAL_LAPTOPS);
            let a = self.unit(AssetKind::Laptop, &model, Ownership::Personal, status);
            let on = date_between(self.rng, holder.from, holder.until);
            let mut a = self.give(a, holder, on);
            a.encrypted = self.tri(70, 15, 15);
            a.last_seen = Some(self.seen(0.08, a.assigned_on));
            a.pending_patch_since = self.patch(0.35, 60);
            self.assets.push(a);
        }
        if phone {
            let model = *self.rng.weighted(PERSONAL_PHONES);
            let a = self.unit(AssetKind::Smartphone, &model, Ownership::Personal, status);
            let on = date_between(self.rng, holder.from, holder.until);
            let mut a = self.give(a, holder, on);
            a.encrypted = self.tri(80, 0, 20);
            a.pin_set = self.tri(90, 5, 5);
            a.hotspot_password_set = self.tri(60, 10, 30);
            a.last_seen = Some(self.seen(0.05, a.assigned_on));
            a.pending_patch_since = self.patch(0.35, 60);
            self.assets.push(a);
        }
    }

    /// Kit handed back by someone who left or went on extended absence.
    fn handed_back(&mut self, holder: &Holder) {
        for (kind, share) in [(AssetKind::Laptop, 0.6), (AssetKind::Smartphone, 0.5)] {
            if !self.rng.chance(share) {
                continue;
            }
            let model = if kind == AssetKind::Laptop {
                *self.rng.weighted(LAPTOPS)
            } else {
                *self.rng.weighted(IPHONES)
            };
            let mut a = self.unit(kind, &model, Ownership::Organisation, AssetStatus::Returned);
            a.budget_centre = self.charge(holder.centre);
            a.encrypted = Some(true);
            let back = if holder.gone {
                holder.until
            } else {
                shift(self.clock.today, -self.rng.between(20, 200))
            };
            let back = back.clamp(holder.from, holder.until);
            a.last_seen = Some(
                self.clock
                    .on(back, 10 * HOUR + self.rng.between(0, 6 * HOUR)),
            );
            self.assets.push(a);
        }
    }

    /// Spare, broken, lost and retired kit, in proportion to what is in use.
    fn pool(&mut self, in_use: usize, holders: &[Holder]) {
        const RATES: &[(AssetStatus, f64, f64)] = &[
            // (status, per asset in use, share still recorded against a holder)
            (AssetStatus::InStock, 0.030, 0.0),
            (AssetStatus::InRepair, 0.006, 0.0),
            (AssetStatus::Lost, 0.003, 0.7),
            (AssetStatus::Stolen, 0.0015, 0.7),
            (AssetStatus::Damaged, 0.003, 0.5),
            (AssetStatus::AwaitingDisposal, 0.008, 0.0),
            (AssetStatus::Disposed, 0.015, 0.0),
            (AssetStatus::Returned, 0.008, 0.0),
        ];
        const KINDS: &[(AssetKind, u32)] = &[
            (AssetKind::Laptop, 35),
            (AssetKind::Smartphone, 25),
            (AssetKind::Sim, 15),
            (AssetKind::Peripheral, 15),
            (AssetKind::UsbStick, 5),
            (AssetKind::Tablet, 5),
        ];
        for &(status, rate, held) in RATES {
            let expected = in_use as f64 * rate;
            let count = expected as usize + usize::from(self.rng.chance(expected.fract()));
            for _ in 0..count {
                let kind = *self.rng.weighted(KINDS);
                let mut a = self.spare(kind, status);
                let holder = if self.rng.chance(held) {
                    self.rng.pick_opt(holders)
                } else {
                    None
                };
                match holder {
                    Some(h) => {
                        let on = date_between(self.rng, h.from, h.until);
                        a = self.give(a, h, on);
                    }
                    None => {
                        let centre = if self.rng.chance(0.8) {
                            self.centres.corporate_it
                        } else {
                            self.centres.any_regional(self.rng)
                        };
                        a.budget_centre = self.centres.code(centre);
                    }
                }
                self.assets.push(a);
            }
        }
    }

    fn spare(&mut self, kind: AssetKind, status: AssetStatus) -> Asset {
        let model = match kind {
            AssetKind::Laptop => *self.rng.weighted(LAPTOPS),
            AssetKind::Smartphone => *self.rng.weighted(IPHONES),
            AssetKind::Sim => *self.rng.weighted(SIMS),
            AssetKind::UsbStick => self.rng.weighted(USB_STICKS).0,
            AssetKind::Tablet => *self.rng.weighted(TABLETS),
            _ => *self.rng.weighted(PERIPHERALS),
        };
        let mut a = self.unit(kind, &model, Ownership::Organisation, status);
        if matches!(
            kind,
            AssetKind::Laptop | AssetKind::Smartphone | AssetKind::Tablet
        ) && status != AssetStatus::Disposed
        {
            a.encrypted = Some(true);
            a.last_seen = self
                .rng
                .chance(0.5)
                .then(|| self.clock.ago_between(self.rng, 20 * DAY, 400 * DAY));
        }
        a
    }
}

/// The tag prefix of each kind.
fn prefix(kind: AssetKind) -> &'static str {
    match kind {
        AssetKind::Laptop => "LT",
        AssetKind::Smartphone => "MOB",
        AssetKind::VoicePhone => "VP",
        AssetKind::Tablet => "TAB",
        AssetKind::Sim => "SIM",
        AssetKind::UsbStick => "USB",
        AssetKind::ExternalDrive => "EXD",
        AssetKind::MemoryCard => "MC",
        AssetKind::OpticalDisc => "OD",
        AssetKind::Peripheral => "PER",
        AssetKind::Accessory => "ACC",
    }
}

const KIND_COUNT: usize = 11;

fn kind_index(kind: AssetKind) -> usize {
    match kind {
        AssetKind::Laptop => 0,
        AssetKind::Smartphone => 1,
        AssetKind::VoicePhone => 2,
        AssetKind::Tablet => 3,
        AssetKind::Sim => 4,
        AssetKind::UsbStick => 5,
        AssetKind::ExternalDrive => 6,
        AssetKind::MemoryCard => 7,
        AssetKind::OpticalDisc => 8,
        AssetKind::Peripheral => 9,
        AssetKind::Accessory => 10,
    }
}

/// Tags each asset `<prefix><number>`, numbered per kind in the order made and zero-padded to one
/// width per kind, and returns the register in tag order: kinds in the order of their prefixes,
/// each kind already in number order. No comparison sort of the whole register is needed.
fn tag(assets: Vec<Asset>) -> Vec<Asset> {
    let mut counts = [0usize; KIND_COUNT];
    for a in &assets {
        counts[kind_index(a.kind)] += 1;
    }
    let mut buckets: Vec<Vec<Asset>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
    let total = assets.len();
    for a in assets {
        buckets[kind_index(a.kind)].push(a);
    }
    let mut kinds: Vec<Vec<Asset>> = buckets.into_iter().filter(|b| !b.is_empty()).collect();
    kinds.sort_by_key(|b| b.first().map(|a| prefix(a.kind)));
    let mut out = Vec::with_capacity(total);
    for bucket in kinds {
        let width = bucket.len().to_string().len().max(6);
        for (n, mut a) in bucket.into_iter().enumerate() {
            a.tag = format!("{}{:0width$}", prefix(a.kind), n + 1);
            out.push(a);
        }
    }
    out
}

fn holding(rng: &mut Rng, d: &Draft, today: NaiveDate) -> Holding {
    if !d.started(today) {
        // New starters' kit is issued on their first day.
        return Holding::Nothing;
    }
    match d.group {
        Group::IcfaProvider => return Holding::Nothing,
        Group::Supplier => {
            return if rng.chance(0.05) {
                Holding::Holds
            } else {
                Holding::Nothing
            };
        }
        Group::Associate => {
            return if d.byod == Some(true) {
                Holding::Holds
            } else {
                Holding::Nothing
            };
        }
        _ => {}
    }
    let keeps = match d.status {
        _ if d.gone(today) => 0.3,
        PersonStatus::Starter => 0.65,
        PersonStatus::Absent => 0.6,
        _ => 1.0,
    };
    if rng.chance(keeps) {
        Holding::Holds
    } else if d.status == PersonStatus::Starter {
        // Not yet issued: the new-starter deadline is running.
        Holding::Nothing
    } else {
        Holding::HandedBack
    }
}

/// Every asset, tagged and sorted by tag. `extras[i]` is an extra device person `i` holds, if
/// they hold their bundle at all.
pub(crate) fn generate(
    rng: &mut Rng,
    drafts: &[Draft],
    people: &[Person],
    extras: &[Option<AssetKind>],
    clock: Clock,
    centres: &Centres,
    serial_key: u64,
) -> Vec<Asset> {
    let today = clock.today;
    let mut kit = Kit {
        rng,
        clock,
        centres,
        serial_key,
        counter: 0,
        assets: Vec::with_capacity(drafts.len() * 5 + 16),
    };
    let mut holders = Vec::new();
    for (i, (d, person)) in drafts.iter().zip(people).enumerate() {
        let gone = d.gone(today);
        let until = if gone {
            d.leave.unwrap_or(today).min(today)
        } else {
            today
        };
        let from = d
            .start
            .unwrap_or(shift(today, -REFRESH_DAYS))
            .max(shift(today, -REFRESH_DAYS))
            .min(until);
        let holder = Holder {
            id: person.id.clone(),
            centre: d.centre,
            from,
            until,
            gone,
        };
        match holding(kit.rng, d, today) {
            Holding::Nothing => {}
            Holding::HandedBack => kit.handed_back(&holder),
            Holding::Holds if d.group == Group::Associate => kit.personal(&holder),
            Holding::Holds => {
                kit.bundle(d, &holder, extras.get(i).copied().flatten());
                if !gone && d.group.equipped() {
                    holders.push(holder);
                }
            }
        }
    }
    let in_use = kit
        .assets
        .iter()
        .filter(|a| a.ownership == Ownership::Organisation)
        .count();
    kit.pool(in_use, &holders);
    tag(kit.assets)
}
