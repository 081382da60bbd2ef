// The traveller app: log in or sign up, search flights, pick seats on the
// live seat map, name the passengers, hold the seats, pay, follow the
// booking to its confirmation, list and cancel one's bookings. It talks to
// the public API only (../shared/CONTRACT.md, "Travellers' additions").
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, CABINS, cabinName, getToken, money, query, serverNow, setToken, setUnauthorizedHandler } from "./api.js";
import "./app.css";

const MAX_PASSENGERS = 9;
const LETTERS = ["A", "B", "C", "D", "E", "F"];
// Payments settle "normally within 2 s": poll well past that, bounded.
const POLL_MS = 500;
const POLL_LIMIT_MS = 60000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function errorText(err) {
	return err instanceof ApiError ? err.message : `Something went wrong: ${err.message || err}`;
}

function when(iso) {
	const d = new Date(iso);
	return Number.isNaN(d.getTime())
		? iso
		: d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

// The heading of a view takes the focus when the view opens, so keyboard
// and screen-reader users start where the new content starts. Buttons that
// are busy are aria-disabled rather than disabled: a disabled button drops
// the keyboard focus to the page's start.
function ViewHeading({ children }) {
	const ref = useRef(null);
	useEffect(() => {
		ref.current && ref.current.focus();
	}, []);
	return (
		<h2 ref={ref} tabIndex={-1}>
			{children}
		</h2>
	);
}

// ------------------------------------------------------------------ auth

function Auth({ onLoggedIn, say }) {
	const [mode, setMode] = useState("login");
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState("");

	async function logIn(username, password) {
		const { data } = await api("POST", "/token", { form: { username, password }, auth: false });
		setToken(data.access_token);
		await onLoggedIn();
	}

	async function submit(e) {
		e.preventDefault();
		if (busy) return;
		const f = new FormData(e.currentTarget);
		setBusy(true);
		setError("");
		try {
			if (mode === "signup") {
				await api("POST", "/register", {
					auth: false,
					json: {
						email: f.get("email"),
						username: f.get("username"),
						full_name: f.get("full_name"),
						password: f.get("password"),
					},
				});
				say("Account created. Logging you in.");
			}
			await logIn(f.get("username"), f.get("password"));
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	const signup = mode === "signup";
	return (
		<section aria-labelledby="auth-title">
			<h2 id="auth-title">{signup ? "Create an account" : "Log in"}</h2>
			<form onSubmit={submit} class="stack">
				{signup && (
					<>
						<label>
							Full name
							<input name="full_name" required maxLength={128} autoComplete="name" />
						</label>
						<label>
							Email
							<input name="email" type="email" required autoComplete="email" />
						</label>
					</>
				)}
				<label>
					Username
					<input name="username" required autoComplete="username" />
				</label>
				<label>
					Password
					<input
						name="password"
						type="password"
						required
						minLength={signup ? 8 : undefined}
						autoComplete={signup ? "new-password" : "current-password"}
					/>
				</label>
				{error && (
					<p class="error" role="alert">
						{error}
					</p>
				)}
				<button type="submit" aria-disabled={busy ? "true" : undefined}>
					{signup ? "Sign up" : "Log in"}
				</button>
			</form>
			<p>
				{signup ? "Already have an account? " : "New here? "}
				<button
					type="button"
					class="link"
					onClick={() => {
						setError("");
						setMode(signup ? "login" : "signup");
					}}
				>
					{signup ? "Log in" : "Create an account"}
				</button>
			</p>
		</section>
	);
}

// ---------------------------------------------------------------- search

function Search({ onChoose, saved, onSaved }) {
	const [form, setForm] = useState(saved.form);
	const [flights, setFlights] = useState(saved.flights);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState("");

	const set = (k) => (e) => setForm({ ...form, [k]: k === "origin" || k === "destination" ? e.currentTarget.value.toUpperCase() : e.currentTarget.value });

	async function submit(e) {
		e.preventDefault();
		if (busy) return;
		setBusy(true);
		setError("");
		try {
			// the default page (50); origin, destination, date in that order: the
			// form the gateway keeps (docs/ARCHITECTURE.md, "Read cache")
			const { data } = await api("GET", "/flights" + query(form), { auth: false });
			setFlights(data);
			onSaved({ form, flights: data });
		} catch (err) {
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	return (
		<section aria-labelledby="search-title">
			<ViewHeading>Find a flight</ViewHeading>
			<form onSubmit={submit} class="search" aria-label="Search flights">
				<label>
					From
					<input value={form.origin} onInput={set("origin")} maxLength={3} placeholder="JFK" autoComplete="off" />
				</label>
				<label>
					To
					<input value={form.destination} onInput={set("destination")} maxLength={3} placeholder="LAX" autoComplete="off" />
				</label>
				<label>
					Date
					<input type="date" value={form.date} onInput={set("date")} />
				</label>
				<label>
					Cabin
					<select value={form.cabin} onChange={set("cabin")}>
						<option value="">Any cabin</option>
						{CABINS.map((c) => (
							<option value={c}>{cabinName(c)}</option>
						))}
					</select>
				</label>
				<button type="submit" aria-disabled={busy ? "true" : undefined}>
					Search
				</button>
			</form>
			{error && (
				<p class="error" role="alert">
					{error}
				</p>
			)}
			{flights && (
				<div aria-live="polite">
					<h3 id="results-title">{flights.length === 1 ? "1 flight" : `${flights.length} flights`}</h3>
					<ul class="results" aria-labelledby="results-title">
						{flights.map((f) => (
							<li class="card">
								<p class="route">
									<strong>
										{f.origin} → {f.destination}
									</strong>{" "}
									<span>
										{f.flight_number} · {f.airline}
									</span>
								</p>
								<p>
									Departs {when(f.departure_time)}, arrives {when(f.arrival_time)}
								</p>
								<table class="cabins">
									<caption class="sr-only">Cabins of {f.flight_number}</caption>
									<thead>
										<tr>
											<th scope="col">Cabin</th>
											<th scope="col">Price</th>
											<th scope="col">Seats left</th>
										</tr>
									</thead>
									<tbody>
										{(f.cabins || []).map((c) => (
											<tr>
												<th scope="row">{cabinName(c.cabin)}</th>
												<td>{money(c.price)}</td>
												<td>{c.available_seats}</td>
											</tr>
										))}
									</tbody>
								</table>
								<button type="button" onClick={() => onChoose(f)} disabled={!f.available_seats} aria-label={`Choose seats on ${f.flight_number}`}>
									Choose seats
								</button>
							</li>
						))}
					</ul>
				</div>
			)}
		</section>
	);
}

// -------------------------------------------------------------- seat map

function seatOrder(a, b) {
	return parseInt(a.seat_number, 10) - parseInt(b.seat_number, 10) || a.seat_number.localeCompare(b.seat_number);
}

// The seat map stays live: the stream (nginx, Nchan) sends each seat's new
// state; the map read with GET is the truth, re-read every time the stream
// opens (on reconnects too), and states that arrive while it is read are
// applied again on top (they are states, not deltas).
function useLiveSeats(flightId, onTaken) {
	const [seats, setSeats] = useState(null);
	const [live, setLive] = useState(false);
	const [error, setError] = useState("");
	const onTakenRef = useRef(onTaken);
	onTakenRef.current = onTaken;

	useEffect(() => {
		let gone = false;
		let source = null;
		let retry = null;
		let reading = 0;
		let arrived = [];

		const apply = (map, ev) => {
			const seat = map.get(ev.seat_number);
			if (!seat || seat.status === ev.status) return map;
			const next = new Map(map);
			next.set(ev.seat_number, { ...seat, status: ev.status });
			return next;
		};

		async function read() {
			const mine = ++reading;
			arrived = [];
			try {
				const { data } = await api("GET", `/flights/${flightId}/seats`, { auth: false });
				if (gone || mine !== reading) return;
				let map = new Map([...data].sort(seatOrder).map((s) => [s.seat_number, s]));
				for (const ev of arrived) map = apply(map, ev);
				arrived = null;
				setSeats(map);
				setError("");
				for (const s of map.values()) if (s.status !== "available") onTakenRef.current(s.seat_number);
			} catch (err) {
				if (gone || mine !== reading) return;
				arrived = null;
				setError(errorText(err));
			}
		}

		function connect() {
			source = new EventSource(`/flights/${flightId}/seats/live`);
			source.onopen = () => {
				setLive(true);
				read();
			};
			source.onmessage = (e) => {
				let ev;
				try {
					ev = JSON.parse(e.data);
				} catch {
					return;
				}
				if (!ev || typeof ev.seat_number !== "string" || typeof ev.status !== "string") return;
				if (arrived) {
					arrived.push(ev);
					return;
				}
				setSeats((map) => (map ? apply(map, ev) : map));
				if (ev.status !== "available") onTakenRef.current(ev.seat_number);
			};
			source.onerror = () => {
				setLive(false);
				// EventSource retries by itself unless the answer was not a
				// stream at all; then try again a little later.
				if (source.readyState === EventSource.CLOSED && !gone) {
					source.close();
					retry = setTimeout(connect, 5000);
				}
			};
		}

		read();
		connect();
		return () => {
			gone = true;
			clearTimeout(retry);
			source && source.close();
		};
	}, [flightId]);

	return { seats, live, error };
}

function seatLabel(s) {
	return `Seat ${s.seat_number}, ${cabinName(s.cabin).toLowerCase()}, ${money(s.price)}, ${s.status}`;
}

function SeatMap({ flight, me, onBooked, onBack, say }) {
	const [chosen, setChosen] = useState([]);
	const [names, setNames] = useState({});
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState("");
	const chosenRef = useRef(chosen);
	chosenRef.current = chosen;

	// Someone else took a seat this traveller had chosen: drop it and say so.
	const onTaken = (seat) => {
		if (!chosenRef.current.includes(seat) || busy) return;
		setChosen((c) => c.filter((x) => x !== seat));
		say(`Seat ${seat} was just taken by someone else and is no longer chosen.`);
	};
	const { seats, live, error: mapError } = useLiveSeats(flight.id, onTaken);
	const seatsRef = useRef(seats);
	seatsRef.current = seats;

	function toggle(s) {
		setError("");
		if (chosen.includes(s.seat_number)) {
			setChosen(chosen.filter((x) => x !== s.seat_number));
			return;
		}
		if (chosen.length >= MAX_PASSENGERS) {
			setError(`At most ${MAX_PASSENGERS} seats per booking.`);
			return;
		}
		if (!chosen.length && !names[s.seat_number]) setNames({ ...names, [s.seat_number]: me.full_name });
		setChosen([...chosen, s.seat_number]);
	}

	async function hold(e) {
		e.preventDefault();
		if (busy) return;
		setBusy(true);
		setError("");
		try {
			const passengers = chosen.map((seat) => ({ full_name: (names[seat] || "").trim(), seat_number: seat }));
			const { data } = await api("POST", "/bookings", { json: { flight_id: flight.id, passengers } });
			onBooked(data);
		} catch (err) {
			setError(errorText(err));
			// A 409 names seats taken meanwhile: keep only those still free
			// (their events may also come later: onTaken drops them then).
			const map = seatsRef.current;
			if (map) setChosen((c) => c.filter((seat) => map.get(seat)?.status === "available"));
		} finally {
			setBusy(false);
		}
	}

	const rows = [];
	if (seats) {
		for (const s of seats.values()) {
			const row = parseInt(s.seat_number, 10);
			if (!rows.length || rows[rows.length - 1].row !== row) rows.push({ row, cabin: s.cabin, seats: {} });
			rows[rows.length - 1].seats[s.seat_number.slice(-1)] = s;
		}
	}
	const total = chosen.reduce((sum, seat) => sum + Number((seats && seats.get(seat)?.price) || 0), 0);

	return (
		<section>
			<ViewHeading>
				Seats on {flight.flight_number}, {flight.origin} → {flight.destination}
			</ViewHeading>
			<p>
				Departs {when(flight.departure_time)}.{" "}
				<span class={live ? "live on" : "live"}>{live ? "Live: seats update as others book." : "Connecting to live updates…"}</span>
			</p>
			<button type="button" class="link" onClick={onBack}>
				Back to results
			</button>
			{mapError && (
				<p class="error" role="alert">
					{mapError}
				</p>
			)}
			{!seats && !mapError && <p>Loading the seat map…</p>}
			{seats && (
				<div class="seatmap" role="group" aria-label={`Seat map, choose up to ${MAX_PASSENGERS} seats`}>
					<p class="legend" aria-hidden="true">
						<span class="seat available">A</span> free <span class="seat chosen">A</span> chosen <span class="seat taken">A</span> taken
					</p>
					{rows.map((r, i) => (
						<>
							{(i === 0 || rows[i - 1].cabin !== r.cabin) && (
								<h3 class="cabin-title">
									{cabinName(r.cabin)} · {money(r.seats[Object.keys(r.seats)[0]].price)}
								</h3>
							)}
							<div class="row">
								<span class="rownum" aria-hidden="true">
									{r.row}
								</span>
								{LETTERS.map((L, j) => {
									const s = r.seats[L];
									const cells = [];
									if (j === 3) cells.push(<span class="aisle" aria-hidden="true" />);
									if (!s) {
										cells.push(<span class="seat none" aria-hidden="true" />);
										return cells;
									}
									const isChosen = chosen.includes(s.seat_number);
									const free = s.status === "available";
									cells.push(
										<button
											type="button"
											class={`seat ${isChosen ? "chosen" : free ? "available" : "taken"}`}
											aria-label={seatLabel(s)}
											aria-pressed={isChosen ? "true" : "false"}
											disabled={!free && !isChosen}
											data-seat={s.seat_number}
											onClick={() => toggle(s)}
										>
											{L}
										</button>,
									);
									return cells;
								})}
							</div>
						</>
					))}
				</div>
			)}
			{error && !chosen.length && (
				<p class="error" role="alert">
					{error}
				</p>
			)}
			{chosen.length > 0 && (
				<form onSubmit={hold} class="stack passengers" aria-label="Passengers">
					<h3>Passengers</h3>
					{chosen.map((seat, i) => (
						<label>
							Passenger {i + 1}, seat {seat}
							<input
								value={names[seat] || ""}
								onInput={(e) => setNames({ ...names, [seat]: e.currentTarget.value })}
								required
								maxLength={128}
								autoComplete={i === 0 ? "name" : "off"}
							/>
						</label>
					))}
					<p>
						{chosen.length} {chosen.length === 1 ? "seat" : "seats"}, total <strong>{money(total)}</strong>
					</p>
					{error && (
						<p class="error" role="alert">
							{error}
						</p>
					)}
					<button type="submit" aria-disabled={busy ? "true" : undefined}>
						Hold {chosen.length === 1 ? "this seat" : `these ${chosen.length} seats`}
					</button>
				</form>
			)}
		</section>
	);
}

// --------------------------------------------------------------- booking

function useCountdown(iso) {
	const [now, setNow] = useState(serverNow());
	useEffect(() => {
		const t = setInterval(() => setNow(serverNow()), 1000);
		return () => clearInterval(t);
	}, [iso]);
	return Math.max(0, Math.floor((Date.parse(iso) - now) / 1000));
}

function Countdown({ iso, onExpired }) {
	const left = useCountdown(iso);
	// The timer itself is not read out every second; a reminder is.
	const [reminder, setReminder] = useState("");
	useEffect(() => {
		if (left === 300 || left === 60) setReminder(`${left / 60} minute${left === 60 ? "" : "s"} left to pay.`);
	}, [left]);
	useEffect(() => {
		if (left === 0) onExpired();
	}, [left === 0]);
	const m = Math.floor(left / 60);
	const s = String(left % 60).padStart(2, "0");
	return (
		<p class="countdown">
			{left > 0 ? "Your seats are held for " : "The hold has ended."}
			{left > 0 && (
				<span role="timer" aria-live="off" aria-label={`${m} minutes ${s} seconds`}>
					{m}:{s}
				</span>
			)}
			{left > 0 && " more. Pay before it ends."}
			<span class="sr-only" aria-live="polite">
				{reminder}
			</span>
		</p>
	);
}

function Passengers({ booking }) {
	const list = booking.passengers && booking.passengers.length ? booking.passengers : [{ seat_number: booking.seat_number }];
	return (
		<ul class="plain">
			{list.map((p) => (
				<li>
					Seat <strong>{p.seat_number}</strong>
					{p.full_name ? `: ${p.full_name}` : ""}
					{p.cabin ? ` (${cabinName(p.cabin).toLowerCase()}, ${money(p.price)})` : ""}
				</li>
			))}
		</ul>
	);
}

function BookingView({ initial, onDone, say }) {
	const [booking, setBooking] = useState(initial);
	const [flight, setFlight] = useState(null);
	useEffect(() => {
		api("GET", `/flights/${initial.flight_id}`, { auth: false }).then(
			(r) => setFlight(r.data),
			() => {},
		);
	}, [initial.flight_id]);
	const [busy, setBusy] = useState(false);
	const [error, setError] = useState("");
	const [note, setNote] = useState("");

	async function refresh() {
		try {
			const { data } = await api("GET", `/bookings/${booking.id}`);
			setBooking(data);
			return data;
		} catch (err) {
			setError(errorText(err));
			return null;
		}
	}

	async function pay(e) {
		e.preventDefault();
		if (busy) return;
		const f = new FormData(e.currentTarget);
		setBusy(true);
		setError("");
		setNote("Sending the payment…");
		try {
			let { data: payment } = await api("POST", "/payments", {
				json: {
					booking_id: booking.id,
					amount: booking.total_amount,
					payment_method: f.get("payment_method"),
					card_number: String(f.get("card_number") || "").trim(),
				},
			});
			setNote("Waiting for the card to be approved…");
			const until = Date.now() + POLL_LIMIT_MS;
			while (payment.status === "pending" && Date.now() < until) {
				await sleep(POLL_MS);
				({ data: payment } = await api("GET", `/payments/${payment.id}`));
			}
			if (payment.status === "failed") {
				setNote("");
				const why = payment.failure_reason || "declined";
				setError(`The payment was not accepted: ${why}. Your seats stay held until the hold ends: you may try another card.`);
				return;
			}
			if (payment.status === "pending") {
				setNote("");
				setError("The payment is still being processed. Check My bookings in a moment.");
				return;
			}
			setNote("Payment accepted. Confirming the booking…");
			let b = booking;
			while (b.status === "pending" && Date.now() < until) {
				await sleep(POLL_MS);
				({ data: b } = await api("GET", `/bookings/${booking.id}`));
			}
			setBooking(b);
			setNote("");
			if (b.status === "confirmed") say(`Booking ${b.reference} is confirmed. A confirmation email is on its way.`);
			else setError(`The booking is ${b.status}.`);
		} catch (err) {
			setNote("");
			setError(errorText(err));
		} finally {
			setBusy(false);
		}
	}

	const pending = booking.status === "pending";
	return (
		<section>
			{/* a new status takes the focus again (the pay form it replaces had it) */}
			<ViewHeading key={booking.status}>{booking.status === "confirmed" ? "Booking confirmed" : `Booking ${booking.reference}`}</ViewHeading>
			<dl class="facts">
				<dt>Flight</dt>
				<dd>{flight ? `${flight.flight_number} ${flight.origin} → ${flight.destination}, ${when(flight.departure_time)}` : `Flight ${booking.flight_id}`}</dd>
				<dt>Reference</dt>
				<dd class="reference" data-testid="reference">
					{booking.reference}
				</dd>
				<dt>Status</dt>
				<dd data-testid="status">{booking.status}</dd>
				<dt>Total</dt>
				<dd>{money(booking.total_amount)}</dd>
			</dl>
			<Passengers booking={booking} />
			{pending && <Countdown iso={booking.hold_expires_at} onExpired={refresh} />}
			{note && <p role="status">{note}</p>}
			{error && (
				<p class="error" role="alert">
					{error}
				</p>
			)}
			{pending && (
				<form onSubmit={pay} class="stack" aria-label="Pay">
					<h3>Pay {money(booking.total_amount)}</h3>
					<label>
						Card number
						<input name="card_number" required inputMode="numeric" autoComplete="cc-number" maxLength={23} />
					</label>
					<label>
						Card type
						<select name="payment_method">
							<option value="credit_card">Credit card</option>
							<option value="debit_card">Debit card</option>
						</select>
					</label>
					<button type="submit" aria-disabled={busy ? "true" : undefined}>
						Pay {money(booking.total_amount)}
					</button>
				</form>
			)}
			<p>
				<button type="button" class="link" onClick={onDone}>
					My bookings
				</button>
			</p>
		</section>
	);
}

// ----------------------------------------------------------- my bookings

function Bookings({ onOpen, say }) {
	const [list, setList] = useState(null);
	const [flights, setFlights] = useState({});
	const [reference, setReference] = useState("");
	const [asking, setAsking] = useState(null);
	const [error, setError] = useState("");

	async function load(ref) {
		setError("");
		try {
			const { data } = await api("GET", "/bookings" + query({ reference: ref, limit: 50 }));
			setList(data);
			const ids = [...new Set(data.map((b) => b.flight_id))].filter((id) => !flights[id]);
			const got = await Promise.all(ids.map((id) => api("GET", `/flights/${id}`, { auth: false }).then((r) => r.data, () => null)));
			const next = { ...flights };
			got.forEach((f) => f && (next[f.id] = f));
			setFlights(next);
		} catch (err) {
			setError(errorText(err));
		}
	}
	useEffect(() => {
		load("");
	}, []);

	async function cancel(b) {
		setError("");
		setAsking(null);
		try {
			const { data } = await api("PUT", `/bookings/${b.id}/cancel`);
			setList((l) => l.map((x) => (x.id === data.id ? data : x)));
			say(`Booking ${data.reference} is cancelled.`);
			// The button that had the focus is gone: give it to the booking.
			requestAnimationFrame(() => document.querySelector(`li[data-reference="${data.reference}"]`)?.focus());
		} catch (err) {
			setError(errorText(err));
		}
	}

	return (
		<section>
			<ViewHeading>My bookings</ViewHeading>
			<form
				class="search"
				aria-label="Find a booking by reference"
				onSubmit={(e) => {
					e.preventDefault();
					load(reference.trim().toUpperCase());
				}}
			>
				<label>
					Reference
					<input value={reference} onInput={(e) => setReference(e.currentTarget.value)} maxLength={6} placeholder="K7QX2M" autoComplete="off" />
				</label>
				<button type="submit">Find</button>
				{reference && (
					<button
						type="button"
						class="link"
						onClick={() => {
							setReference("");
							load("");
						}}
					>
						Show all
					</button>
				)}
			</form>
			{error && (
				<p class="error" role="alert">
					{error}
				</p>
			)}
			{list && !list.length && <p>No bookings yet.</p>}
			{list && list.length > 0 && (
				<ul class="results">
					{list.map((b) => {
						const f = flights[b.flight_id];
						const live = b.status === "pending" || b.status === "confirmed";
						return (
							<li class="card" data-reference={b.reference} tabIndex={-1}>
								<p class="route">
									<strong>{b.reference}</strong>{" "}
									<span class={`badge ${b.status}`}>{b.status}</span>
								</p>
								<p>{f ? `${f.flight_number} ${f.origin} → ${f.destination}, ${when(f.departure_time)}` : `Flight ${b.flight_id}`}</p>
								<Passengers booking={b} />
								<p>Total {money(b.total_amount)}</p>
								<div class="actions">
									{b.status === "pending" && (
										<button type="button" onClick={() => onOpen(b)}>
											Pay for {b.reference}
										</button>
									)}
									{live && asking !== b.id && (
										<button type="button" class="secondary" onClick={() => setAsking(b.id)}>
											Cancel {b.reference}
										</button>
									)}
									{live && asking === b.id && (
										<>
											<button type="button" class="danger" onClick={() => cancel(b)}>
												Yes, cancel {b.reference}
											</button>
											<button type="button" class="secondary" onClick={() => setAsking(null)}>
												Keep it
											</button>
										</>
									)}
								</div>
							</li>
						);
					})}
				</ul>
			)}
		</section>
	);
}

// ------------------------------------------------------------------- app

function App() {
	const [me, setMe] = useState(null);
	const [checking, setChecking] = useState(!!getToken());
	const [view, setViewState] = useState({ name: "search" });
	const [saved, setSaved] = useState({ form: { origin: "", destination: "", date: "", cabin: "" }, flights: null });
	const [status, setStatus] = useState("");

	const say = (msg) => setStatus(msg);
	// A new view starts without the last one's message (say() after this
	// call still shows).
	const setView = (v) => {
		setStatus("");
		setViewState(v);
	};

	async function loadMe() {
		const { data } = await api("GET", "/users/me");
		setMe(data);
		setView({ name: "search" });
	}

	useEffect(() => {
		setUnauthorizedHandler(() => {
			setToken(null);
			setMe(null);
			setStatus("Your session has ended. Please log in again.");
		});
		if (getToken())
			loadMe()
				.catch(() => setToken(null))
				.finally(() => setChecking(false));
	}, []);

	function logOut() {
		setToken(null);
		setMe(null);
		setStatus("You are logged out.");
	}

	let body;
	if (checking) body = <p>Loading…</p>;
	else if (!me) body = <Auth onLoggedIn={loadMe} say={say} />;
	else if (view.name === "seats")
		body = (
			<SeatMap
				key={view.flight.id}
				flight={view.flight}
				me={me}
				say={say}
				onBack={() => setView({ name: "search" })}
				onBooked={(b) => {
					setView({ name: "booking", booking: b });
					say(`Seats held. Booking ${b.reference}.`);
				}}
			/>
		);
	else if (view.name === "booking")
		body = <BookingView key={view.booking.id} initial={view.booking} say={say} onDone={() => setView({ name: "bookings" })} />;
	else if (view.name === "bookings") body = <Bookings say={say} onOpen={(b) => setView({ name: "booking", booking: b })} />;
	else body = <Search saved={saved} onSaved={setSaved} onChoose={(f) => setView({ name: "seats", flight: f })} />;

	return (
		<>
			<header>
				<h1>FlightOps</h1>
				{me && (
					<nav aria-label="Main">
						<button type="button" class="link" aria-current={view.name === "search" ? "page" : undefined} onClick={() => setView({ name: "search" })}>
							Search flights
						</button>
						<button type="button" class="link" aria-current={view.name === "bookings" ? "page" : undefined} onClick={() => setView({ name: "bookings" })}>
							My bookings
						</button>
						<button type="button" class="link" onClick={logOut}>
							Log out {me.username}
						</button>
					</nav>
				)}
			</header>
			<p class="status" role="status" aria-live="polite">
				{status}
			</p>
			<main>{body}</main>
		</>
	);
}

render(<App />, document.getElementById("app"));
